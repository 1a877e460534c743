import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replayCommand } from '../../src/replay/command.js';
import { IP, UA } from '../helpers.js';
import { DAY, HOUR, jsonl, removeTempDirs, T0, tempDir, type Ev } from './helpers.js';

afterAll(removeTempDirs);

const home = { userId: 'u1', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-home' };
const events: Ev[] = [
  ...Array.from({ length: 10 }, (_, i) => ({ ...home, at: T0 + i * DAY })),
  { userId: 'u1', ip: IP.brazil, at: T0 + 9 * DAY + HOUR, deviceId: 'd-x', userAgent: UA.firefoxLinux, label: 'impossible_travel' },
  { userId: 'u1', ip: IP.germany, at: T0 + 9 * DAY + 2 * HOUR, outcome: 'failure', label: 'brute_force' },
];

async function lines(path: string): Promise<Record<string, unknown>[]> {
  return (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('riskgate replay --out-fields', () => {
  it('adds the named fields after the standard ones, in a fixed order, for joining with the input', async () => {
    const dir = await tempDir();
    const file = await jsonl(dir, 'in.jsonl', events);
    const out = join(dir, 'd.jsonl');
    const r = await replayCommand([file, '--out', out, '--out-fields', 'messages,ip,time,label,file,deviceId,userAgent']);
    expect(r.code).toBe(0);
    const d = await lines(out);
    expect(d).toHaveLength(12);
    for (const x of d) expect(Object.keys(x)).toEqual(['line', 'userId', 'outcome', 'action', 'score', 'reasons', 'file', 'time', 'label', 'ip', 'userAgent', 'deviceId', 'messages']);
    const travel = d[10]!;
    expect(travel).toMatchObject({ line: 11, file, time: new Date(T0 + 9 * DAY + HOUR).toISOString(), label: 'impossible_travel', ip: IP.brazil, userAgent: UA.firefoxLinux, deviceId: 'd-x' });
    // One message per reason, in the same order.
    const reasons = travel.reasons as string[];
    const messages = travel.messages as string[];
    expect(messages).toHaveLength(reasons.length);
    expect(messages[reasons.indexOf('geo.impossible_travel')]).toMatch(/^\d[\d,]* km in \d+ min since the last login/);
    expect(d[11]).toMatchObject({ outcome: 'failure', label: 'brute_force', ip: IP.germany, userAgent: null, deviceId: null });
  });

  it('leaves the documented line as it is without the option', async () => {
    const dir = await tempDir();
    const file = await jsonl(dir, 'in.jsonl', events);
    const out = join(dir, 'd.jsonl');
    expect((await replayCommand([file, '--out', out])).code).toBe(0);
    for (const x of await lines(out)) expect(Object.keys(x)).toEqual(['line', 'userId', 'outcome', 'action', 'score', 'reasons']);
  });

  it('refuses an unknown field, and the option without --out', async () => {
    const dir = await tempDir();
    const file = await jsonl(dir, 'in.jsonl', events);
    const bad = await replayCommand([file, '--out', join(dir, 'd.jsonl'), '--out-fields', 'time,country']);
    expect(bad.code).toBe(2);
    expect(bad.stderr[0]).toBe('riskgate replay: --out-fields: unknown field "country"; the fields are file, time, label, ip, userAgent, deviceId, messages');
    expect((await replayCommand([file, '--out-fields', 'time'])).stderr[0]).toBe('riskgate replay: --out-fields needs --out');
  });
});

describe('riskgate replay --json: rules by label', () => {
  it('counts per rule and label what it fired on, stepped up and decided, logins and failures apart', async () => {
    const dir = await tempDir();
    const file = await jsonl(dir, 'in.jsonl', events);
    const r = await replayCommand([file, '--json', '--warmup', '9d']);
    const json = JSON.parse(r.stdout[0]!) as { summary: { ruleHits: { id: string; byLabel: Record<string, Record<string, number>> }[] } };
    const rule = (id: string) => json.summary.ruleHits.find((x) => x.id === id)!;
    // The impossible-travel login was stepped up by two rules, each enough on its own: neither decided it.
    expect(rule('geo.impossible_travel').byLabel).toEqual({
      impossible_travel: { fired: 1, steppedUp: 1, decided: 0, firedOnFailures: 0, blockedFailures: 0, decidedOnFailures: 0 },
    });
    expect(rule('device.new_on_new_network').byLabel).toEqual({
      brute_force: { fired: 0, steppedUp: 0, decided: 0, firedOnFailures: 1, blockedFailures: 0, decidedOnFailures: 0 },
      impossible_travel: { fired: 1, steppedUp: 1, decided: 0, firedOnFailures: 0, blockedFailures: 0, decidedOnFailures: 0 },
    });
    // The warm-up is not counted, per label either: the user's first login fell in it.
    expect(json.summary.ruleHits.map((x) => x.id)).not.toContain('user.first_login');
  });
});
