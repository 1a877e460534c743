import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { replay, type ReplayResult } from '../../src/replay/replay.js';
import { renderReport } from '../../src/replay/report.js';
import { loadRuleSet } from '../../src/rules/compile.js';
import { CHROMIUM, HAVE_CHROMIUM, useChromium } from '../chromium.js';
import { copyRules, RULES_DIR } from '../helpers.js';
import { DAY, removeLater, removeTempDirs, smallStream, tempDir } from './helpers.js';

if (!HAVE_CHROMIUM) console.warn(`report test SKIPPED: ${CHROMIUM} is missing (apt-get install chromium); .ci/run installs it`);

const CHARTS = ['chart-scores', 'chart-threshold', 'chart-timeline', 'chart-failures', 'chart-rules'];
const RBA_SAMPLE = join(import.meta.dirname, '..', 'fixtures', 'rba', 'rba-sample.csv');

afterAll(removeTempDirs);

/** The default rules compared with a copy that challenges from 20 points: thresholds, curves and labels all differ. */
async function comparedReplay(): Promise<ReplayResult> {
  const dir = await tempDir();
  const other = removeLater(await copyRules());
  const policy = join(other, 'policy.yaml');
  await writeFile(policy, (await readFile(policy, 'utf8')).replace('challenge: 40', 'challenge: 20'));
  return replay({ files: [await smallStream(dir)], rules: await loadRuleSet(RULES_DIR), warmupMs: 7 * DAY, compare: await loadRuleSet(other) });
}

describe('HTML report', () => {
  it('is one self-contained file: no script, no external resource', async () => {
    const dir = await tempDir();
    const r = await replay({ files: [await smallStream(dir)], rules: await loadRuleSet(RULES_DIR), warmupMs: 7 * DAY });
    const html = renderReport(r);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html).not.toMatch(/(src|href)="(?!#)/);
    expect(html).toContain(`default-src 'none'`);
    for (const id of CHARTS) expect(html).toContain(`id="${id}"`);
    // One rule set: no "(A)" in legends.
    expect(html).not.toContain('(A)');
    // The score histogram's axis is logarithmic: one tick per power of ten, down below the 1 % tail.
    const scores = /<figure class="chart" id="chart-scores">.*?<\/figure>/.exec(html)![0];
    const ticks = [...scores.matchAll(/class="tick" text-anchor="end">([\d.,]+)%</g)].map((m) => Number(m[1]!.replace(/,/g, '')));
    expect(ticks[0]).toBeLessThan(1);
    expect(ticks.at(-1)).toBe(100);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! / ticks[i - 1]!).toBeCloseTo(10);
  });

  it('tabulates rules by label: stepped up / fired (decided), logins and failures apart', async () => {
    const r = await comparedReplay();
    const html = renderReport(r);
    expect(html.match(/<h3>Rules by label: successful logins<\/h3>/g)).toHaveLength(2); // one per rule set
    expect(html.match(/<h3>Rules by label: failed attempts<\/h3>/g)).toHaveLength(2);
    const rule = r.summary.ruleHits.find((x) => x.id === 'attempts.stuffing_address')!;
    const c = rule.byLabel.credential_stuffing!;
    expect(c.blockedFailures).toBeGreaterThan(0);
    expect(html).toContain(`${c.blockedFailures} / ${c.firedOnFailures} <small>(${c.decidedOnFailures})</small>`);
  });

  describe.skipIf(!HAVE_CHROMIUM)(`in headless Chromium (${CHROMIUM})`, () => {
    const browser = useChromium();

    /** Opens a report; `problems` and `requests` collect console errors and every URL the page asked for. */
    async function open(r: ReplayResult, name: string): Promise<{ page: Page; url: string; problems: string[]; requests: string[] }> {
      const file = join(await tempDir(), name);
      await writeFile(file, renderReport(r));
      const page = await browser().newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('request', (q) => requests.push(q.url()));
      const url = pathToFileURL(file).href;
      await page.goto(url, { waitUntil: 'load' });
      return { page, url, problems, requests };
    }

    it('renders with no console error, loads nothing, and draws every chart for both rule sets', { timeout: 90_000 }, async () => {
      const { page, url, problems, requests } = await open(await comparedReplay(), 'compared.html');
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
          legend: await svg.locator('text.legend').allTextContents(),
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
      // Challenge at 40 (A) and at 20 (B); block at 120 for both.
      expect(byId['chart-scores']!.markers).toBe(3);
      expect(byId['chart-threshold']).toMatchObject({ curve: 2, current: 2 });
      expect(byId['chart-threshold']!.points).toBeGreaterThan(4);
      expect(byId['chart-timeline']!.bars).toBeGreaterThan(40);
      expect(byId['chart-timeline']!.markers).toBe(1); // where counting starts
      expect(byId['chart-failures']!.bars).toBeGreaterThan(20);
      expect(byId['chart-rules']!.bars).toBeGreaterThan(10);
      // Every chart names both rule sets.
      expect(byId['chart-scores']!.legend).toEqual(['legitimate (A)', 'attack (A)', 'legitimate (B)', 'attack (B)']);
      expect(byId['chart-threshold']!.legend).toEqual([expect.stringMatching(/^A: /), expect.stringMatching(/^B: /)]);
      expect(byId['chart-timeline']!.legend).toEqual(['allow (A)', 'challenge (A)', 'block (A)', 'allow (B)', 'challenge (B)', 'block (B)']);
      expect(byId['chart-failures']!.legend).toEqual(['not blocked (A)', 'blocked (A)', 'not blocked (B)', 'blocked (B)']);
      expect(byId['chart-rules']!.legend).toEqual(['fired (A)', 'decided (A)', 'fired (B)', 'decided (B)']);
      expect(headings).toEqual(expect.arrayContaining(['Key figures', 'Charts', expect.stringMatching(/^Compared with /)]));
      await page.close();
    });

    it('lays out every chart label inside its drawing and clear of the others', { timeout: 90_000 }, async () => {
      // The compared generated stream (two curves, differing thresholds) and the RBA sample, whose
      // replayed threshold sits at 13 % friction, near the right edge of the curve.
      const rba = await replay({ files: [RBA_SAMPLE], rules: await loadRuleSet(RULES_DIR), geo: 'csv' });
      expect(rba.summary.friction.rate).toBeGreaterThan(0.1);
      for (const [name, r] of [
        ['compared.html', await comparedReplay()],
        ['rba.html', rba],
      ] as const) {
        const { page } = await open(r, name);
        const charts = [];
        for (const id of CHARTS) {
          const svg = page.locator(`#${id} svg`);
          const frame = (await svg.boundingBox())!;
          const texts = await svg.locator('text').evaluateAll((nodes) =>
            nodes.map((t) => {
              const b = t.getBoundingClientRect();
              return { text: t.textContent ?? '', left: b.left, top: b.top, right: b.right, bottom: b.bottom };
            }),
          );
          const at = (t: (typeof texts)[number]) => ({ ...t, left: t.left - frame.x, right: t.right - frame.x, top: t.top - frame.y, bottom: t.bottom - frame.y });
          charts.push({ id, width: frame.width, height: frame.height, texts: texts.map(at) });
        }
        for (const c of charts) {
          const outside = c.texts.filter((t) => t.left < -0.5 || t.top < -0.5 || t.right > c.width + 0.5 || t.bottom > c.height + 0.5);
          expect(outside, `${name} ${c.id}: labels cut off`).toEqual([]);
          const overlapping = c.texts.flatMap((a, i) =>
            c.texts.slice(i + 1).filter((b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1).map((b) => `"${a.text}" / "${b.text}"`),
          );
          expect(overlapping, `${name} ${c.id}: labels overlap`).toEqual([]);
        }
        await page.close();
      }
    });
  });
});
