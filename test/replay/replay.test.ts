import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayCommand } from '../../src/replay/command.js';
import { ProgressBar } from '../../src/replay/progress.js';
import { replay } from '../../src/replay/replay.js';
import { loadRuleSet } from '../../src/rules/compile.js';
import type { RuleSet } from '../../src/rules/ruleset.js';
import { copyRules, IP, RULES_DIR, UA } from '../helpers.js';
import { DAY, HOUR, jsonl, MIN, removeLater, removeTempDirs, smallStream, T0, tempDir, type Ev } from './helpers.js';

let rules: RuleSet;
beforeAll(async () => {
  rules = await loadRuleSet(RULES_DIR);
});

const home = { userId: 'u1', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-home' };
/** Ten days of logins at home, ending a day before T0 + 10 days. */
const habit = (user = home): Ev[] => Array.from({ length: 10 }, (_, i) => ({ ...user, at: T0 + i * DAY }));
const T = T0 + 10 * DAY;

async function decisions(path: string): Promise<Record<string, unknown>[]> {
  return (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

afterAll(removeTempDirs);

describe('replay', () => {
  it('writes one decision per input event, in input order, exactly as docs/replay.md says, replaying across files in time order', async () => {
    const dir = await tempDir();
    // File b holds the earlier failures; replayed in time order, they make a's failure the third user's of the day.
    const a = await jsonl(dir, 'a.jsonl', [...habit(), { userId: 'v3', ip: IP.germany, at: T + 2 * HOUR, outcome: 'failure', label: 'credential_stuffing' }]);
    const b = await jsonl(dir, 'b.jsonl', [
      { userId: 'v1', ip: IP.germany, at: T + HOUR, outcome: 'failure', label: 'credential_stuffing' },
      { userId: 'v2', ip: IP.germany, at: T + HOUR + MIN, outcome: 'failure', label: 'credential_stuffing' },
    ]);
    const out = join(dir, 'decisions.jsonl');
    const r = await replay({ files: [a, b], rules, out });
    const d = await decisions(out);
    expect(d).toHaveLength(13);
    for (const x of d) expect(Object.keys(x)).toEqual(['line', 'userId', 'outcome', 'action', 'score', 'reasons']);
    expect(d.map((x) => `${x.userId}:${x.line}`)).toEqual([...Array.from({ length: 10 }, (_, i) => `u1:${i + 1}`), 'v3:11', 'v1:1', 'v2:2']);
    expect(d[0]).toEqual({ line: 1, userId: 'u1', outcome: 'success', action: 'allow', score: 0, reasons: ['user.first_login'] });
    expect(d[10]).toEqual({ line: 11, userId: 'v3', outcome: 'failure', action: 'block', score: 120, reasons: ['attempts.stuffing_address', 'user.first_login'] });
    expect(d[11]).toMatchObject({ action: 'allow' });
    expect(r.run.files).toEqual([
      { path: a, events: 11 },
      { path: b, events: 2 },
    ]);
    expect(r.summary.failuresBlocked.credential_stuffing).toEqual({ count: 1, of: 3, rate: 1 / 3 });
  });

  it('simulates step-up outcomes: a challenged legitimate login passes and teaches, a challenged attack fails', async () => {
    const dir = await tempDir();
    const phone = { userId: 'u1', ip: IP.osloNO, userAgent: UA.safariIphone, deviceId: 'd-phone' };
    const run = async (label: string, attacksPass = false) => {
      const file = await jsonl(dir, `${label}.jsonl`, [...habit(), { ...phone, at: T, label }, { ...phone, at: T + HOUR, label }]);
      const out = join(dir, `${label}-${attacksPass}.out.jsonl`);
      await replay({ files: [file], rules, out, challengedAttacksPass: attacksPass });
      return (await decisions(out)).slice(-2).map((x) => x.action);
    };
    // The new phone on a network the user never used is challenged; once passed, it is the user's.
    expect(await run('legit')).toEqual(['challenge', 'allow']);
    // An attacker fails the challenge: the profile learns nothing, and the next try is challenged again.
    expect(await run('account_takeover')).toEqual(['challenge', 'challenge']);
    // Unless the flag says challenged attacks pass (a phished code): then the attacker's device is learned.
    expect(await run('account_takeover', true)).toEqual(['challenge', 'allow']);
  });

  it('counts from the end of the warm-up, and summarizes actions, rules and labels', async () => {
    const dir = await tempDir();
    const file = await jsonl(dir, 'w.jsonl', [
      ...habit(),
      { ...home, at: T, ip: IP.osloNO, deviceId: 'd-new', userAgent: UA.safariIphone },
      { userId: 'u1', ip: IP.brazil, at: T + HOUR, deviceId: 'd-x', userAgent: UA.firefoxLinux, label: 'impossible_travel' },
      { userId: 'u1', ip: IP.germany, at: T + 2 * HOUR, outcome: 'failure', label: 'brute_force' },
    ]);
    const r = await replay({ files: [file], rules, warmupMs: 10 * DAY });
    const s = r.summary;
    expect(s.events).toMatchObject({ replayed: 13, counted: 3, logins: 2, failures: 1, countedFrom: new Date(T0 + 10 * DAY).toISOString() });
    expect(s.actions).toEqual({ logins: { allow: 0, challenge: 2, block: 0 }, failures: { allow: 1, block: 0 } });
    expect(s.friction).toEqual({ count: 1, of: 1, rate: 1 });
    expect(s.catch).toEqual({ count: 1, of: 1, rate: 1, byKind: { brute_force: { count: 0, of: 0, rate: null }, impossible_travel: { count: 1, of: 1, rate: 1 } } });
    expect(s.labels.map((l) => l.label)).toEqual(['legit', 'brute_force', 'impossible_travel']);
    const travel = s.ruleHits.find((x) => x.id === 'geo.impossible_travel')!;
    expect(travel).toMatchObject({ fired: 1, decided: 0 });
    const newNet = s.ruleHits.find((x) => x.id === 'device.new_on_new_network')!;
    expect(newNet.fired).toBe(2);
    expect(newNet.decided).toBe(1);
    expect(newNet.firedOnFailures).toBe(1);
  });

  it('is deterministic, and a compared rule set does not change the main one', async () => {
    const dir = await tempDir();
    const file = await smallStream(dir);
    const other = removeLater(await copyRules());
    const one = await replay({ files: [file], rules, warmupMs: 7 * DAY });
    const two = await replay({ files: [file], rules, warmupMs: 7 * DAY, compare: await loadRuleSet(other) });
    expect(two.summary).toEqual(one.summary);
    expect(two.compare!.summary).toEqual({ ...one.summary, rules: { ...one.summary.rules, dir: other } });
    expect(two.compare!.differences).toMatchObject({ differing: 0, transitions: [] });
  });

  it('compares the default rules with a modified copy in one pass, and shows where they differ', async () => {
    const dir = await tempDir();
    const file = await smallStream(dir);
    // The copy takes back a tuning of the defaults: a new device on a new subnet of a known provider counts medium again.
    const other = removeLater(await copyRules());
    const path = join(other, 'device.yaml');
    const text = await readFile(path, 'utf8');
    const modified = text.replace(/(id: device\.new_on_known_provider[\s\S]*?severity: )high/, '$1medium');
    expect(modified).not.toBe(text);
    await writeFile(path, modified);
    const r = await replay({ files: [file], rules, warmupMs: 7 * DAY, compare: await loadRuleSet(other) });
    const d = r.compare!.differences;
    expect(d.differing).toBeGreaterThan(0);
    // Every difference is a step-up the defaults made and the copy did not.
    expect(d.transitions.every((t) => t.outcome === 'success' && t.from === 'challenge' && t.to === 'allow')).toBe(true);
    const t = d.transitions[0]!;
    expect(t.examples[0]).toMatchObject({ file, from: { action: 'challenge', score: 40 }, to: { action: 'allow', score: 20 } });
    expect(t.examples[0]!.from.reasons).toContain('device.new_on_known_provider');
    expect(r.compare!.summary.friction.count).toBeLessThan(r.summary.friction.count);
    expect(Object.values(t.byLabel).reduce((a, b) => a + b, 0)).toBe(t.count);
  });
});

describe('riskgate replay (command)', () => {
  it('stops at the first bad line with file:line: field: problem, exits non-zero and writes nothing', async () => {
    const dir = await tempDir();
    const file = await jsonl(dir, 'in.jsonl', habit());
    await writeFile(file, `${await readFile(file, 'utf8')}{"time":"2026-03-20T08:00:00Z","userId":"u1","ip":"not-an-ip","outcome":"success"}\n`);
    const out = join(dir, 'd.jsonl');
    const report = join(dir, 'r.html');
    const r = await replayCommand([file, '--out', out, '--report', report]);
    expect(r.code).toBe(1);
    expect(r.stderr[0]).toBe(`${file}:11: ip: "not-an-ip" is not an IPv4 or IPv6 address`);
    expect(r.stderr[1]).toMatch(/nothing was written.*--skip-bad/);
    expect(r.stdout).toEqual([]);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(report)).toBe(false);
    expect((await import('node:fs')).readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('with --skip-bad counts and reports bad and out-of-order lines, and replays the rest', async () => {
    const dir = await tempDir();
    const file = await jsonl(dir, 'in.jsonl', [...habit(), { ...home, at: T0 }]);
    await writeFile(file, `${await readFile(file, 'utf8')}{"time":"2026-03-20T08:00:00Z","userId":"u1","ip":"1.2.3.4","outcome":"maybe"}\n`);
    const out = join(dir, 'd.jsonl');
    const r = await replayCommand([file, '--out', out, '--skip-bad', '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout[0]!) as { run: { skipped: { bad: number; outOfOrder: number; examples: string[] } } };
    expect(json.run.skipped).toEqual({
      bad: 1,
      outOfOrder: 1,
      examples: [
        `${file}:11: time: out of order: 2026-03-02T08:00:00.000Z is earlier than 2026-03-11T08:00:00.000Z on line 10; the input must be sorted by time`,
        `${file}:12: outcome: expected "success" or "failure", found "maybe"`,
      ],
    });
    expect(await decisions(out)).toHaveLength(10);
    const text = await replayCommand([file, '--skip-bad']);
    expect(text.stdout[0]).toContain('Skipped 1 bad line and 1 line out of time order:');
  });

  it('refuses bad arguments and broken rules before reading anything', async () => {
    const dir = await tempDir();
    const file = await jsonl(dir, 'in.jsonl', habit());
    expect((await replayCommand([])).code).toBe(2);
    expect((await replayCommand([file, '--warmup', 'soon'])).stderr[0]).toBe('riskgate replay: --warmup: "soon" is not a duration like 14d');
    expect((await replayCommand([join(dir, 'missing.jsonl')])).stderr).toEqual([`riskgate replay: ${join(dir, 'missing.jsonl')}: no such file`]);
    const broken = await replayCommand([file, '--rules', join(import.meta.dirname, '..', 'fixtures', 'rules-broken')]);
    expect(broken.code).toBe(1);
    expect(broken.stderr.at(-1)).toMatch(/have \d+ problem\(s\)$/);
  });
});

describe('progress bar', () => {
  it('draws on a terminal only', () => {
    const written: string[] = [];
    const fake = (isTTY: boolean) => ({ isTTY, columns: 100, write: (s: string) => written.push(s) }) as unknown as NodeJS.WriteStream;
    new ProgressBar(fake(false)).update({ bytes: 50, totalBytes: 100, events: 10 });
    expect(written).toEqual([]);
    const bar = new ProgressBar(fake(true));
    bar.update({ bytes: 50, totalBytes: 100, events: 10 });
    bar.update({ bytes: 60, totalBytes: 100, events: 12 }); // within 200 ms: not drawn again
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^\rreplay █+░+\s+50% {2}50 B\/100 B/);
    bar.done();
    expect(written[1]).toBe('\r\x1b[K');
  });
});
