import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { replay } from '../../src/replay/replay.js';
import { renderReport } from '../../src/replay/report.js';
import { loadRuleSet } from '../../src/rules/compile.js';
import { copyRules, RULES_DIR } from '../helpers.js';
import { DAY, removeLater, removeTempDirs, smallStream, tempDir } from './helpers.js';

/** Debian's Chromium (apt-get install chromium); never a browser downloaded by npm. */
const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`report test SKIPPED: ${CHROMIUM} is missing (apt-get install chromium); .ci/run installs it`);

const CHARTS = ['chart-scores', 'chart-threshold', 'chart-timeline', 'chart-failures', 'chart-rules'];

afterAll(removeTempDirs);

describe('HTML report', () => {
  it('is one self-contained file: no script, no external resource', async () => {
    const dir = await tempDir();
    const r = await replay({ files: [await smallStream(dir)], rules: await loadRuleSet(RULES_DIR), warmupMs: 7 * DAY });
    const html = renderReport(r);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html).not.toMatch(/(src|href)="(?!#)/);
    expect(html).toContain(`default-src 'none'`);
    for (const id of CHARTS) expect(html).toContain(`id="${id}"`);
  });

  describe.skipIf(!HAVE_CHROMIUM)(`in headless Chromium (${CHROMIUM})`, () => {
    it('renders with no console error, loads nothing, and draws every chart', { timeout: 90_000 }, async () => {
      const dir = await tempDir();
      const stream = await smallStream(dir);
      const rules = await loadRuleSet(RULES_DIR);
      const r = await replay({ files: [stream], rules, warmupMs: 7 * DAY, compare: await loadRuleSet(removeLater(await copyRules())) });
      const file = join(dir, 'report.html');
      await writeFile(file, renderReport(r));

      const { chromium } = await import('playwright-core');
      const profile = await mkdtemp(join(tmpdir(), 'riskgate-chromium-'));
      const browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      try {
        const page = browser.pages()[0] ?? (await browser.newPage());
        const problems: string[] = [];
        const requests: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
        page.on('request', (q) => requests.push(q.url()));
        const url = pathToFileURL(file).href;
        await page.goto(url, { waitUntil: 'load' });

        const charts = [];
        for (const id of CHARTS) {
          const svg = page.locator(`#${id} svg`);
          const box = await svg.boundingBox();
          const n = (selector: string) => svg.locator(selector).count();
          charts.push({
            id,
            width: box?.width ?? 0,
            height: box?.height ?? 0,
            bars: await n('rect.bar'),
            curve: await n('path.curve'),
            points: await n('circle.point'),
            current: await n('circle.current'),
            markers: await n('line.marker'),
          });
        }
        const headings = await page.locator('h2').allTextContents();

        expect(problems).toEqual([]);
        expect(requests).toEqual([url]);
        for (const c of charts) {
          expect(c.width, c.id).toBeGreaterThan(300);
          expect(c.height, c.id).toBeGreaterThan(100);
        }
        const byId = Object.fromEntries(charts.map((c) => [c.id, c]));
        expect(byId['chart-scores']!.bars).toBeGreaterThan(2);
        expect(byId['chart-scores']!.markers).toBeGreaterThanOrEqual(1); // the challenge threshold
        expect(byId['chart-threshold']).toMatchObject({ curve: 1, current: 1 });
        expect(byId['chart-threshold']!.points).toBeGreaterThan(2);
        expect(byId['chart-timeline']!.bars).toBeGreaterThan(20);
        expect(byId['chart-timeline']!.markers).toBe(1); // where counting starts
        expect(byId['chart-failures']!.bars).toBeGreaterThan(10);
        expect(byId['chart-rules']!.bars).toBeGreaterThan(5);
        expect(headings).toEqual(expect.arrayContaining(['Key figures', 'Charts', expect.stringMatching(/^Compared with /)]));
      } finally {
        await browser.close();
        await rm(profile, { recursive: true, force: true });
      }
    });
  });
});
