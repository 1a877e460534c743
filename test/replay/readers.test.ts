import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { splitCsvRecord } from '../../src/replay/csv.js';
import { formatProblem, ReplayInputError, type LoginEvent, type Problem } from '../../src/replay/event.js';
import { readEvents } from '../../src/replay/input.js';
import { mergeByTime } from '../../src/replay/merge.js';
import { parseIsoTime, parseRbaTime } from '../../src/replay/timestamps.js';
import { removeTempDirs, tempDir } from './helpers.js';

const RBA_SAMPLE = join(import.meta.dirname, '..', 'fixtures', 'rba', 'rba-sample.csv');
const RBA_HEADER =
  'index,Login Timestamp,User ID,Round-Trip Time [ms],IP Address,Country,Region,City,ASN,User Agent String,Browser Name and Version,OS Name and Version,Device Type,Login Successful,Is Attack IP,Is Account Takeover';

async function file(name: string, text: string): Promise<string> {
  const path = join(await tempDir(), name);
  await writeFile(path, text);
  return path;
}

/** Reads a whole file; problems are collected (as --skip-bad does) unless `strict`. */
async function read(path: string, o: { strict?: boolean; chunk?: number } = {}): Promise<{ events: LoginEvent[]; problems: Problem[] }> {
  const problems: Problem[] = [];
  const events: LoginEvent[] = [];
  const hooks = {
    problem: (p: Problem) => {
      if (o.strict) throw new ReplayInputError(p);
      problems.push(p);
    },
    bytes: () => {},
  };
  for await (const batch of readEvents({ path, index: 0 }, hooks, o.chunk)) events.push(...batch);
  return { events, problems };
}

const line = (o: Record<string, unknown>) => JSON.stringify(o);
const ok = { time: '2026-03-02T08:15:00.000Z', userId: 'u0042', ip: '81.167.144.58', userAgent: 'Mozilla/5.0', deviceId: 'd-91c2', outcome: 'success' };

afterAll(removeTempDirs);

describe('JSONL reader', () => {
  it('reads JSONL login events, with their line numbers; labels default to legit', async () => {
    const path = await file('a.jsonl', `\uFEFF${line(ok)}\r\n\n${line({ ...ok, time: '2026-03-02T09:15:00+01:00', outcome: 'failure', label: 'brute_force', deviceId: undefined, extra: 1 })}\n`);
    const { events, problems } = await read(path);
    expect(problems).toEqual([]);
    expect(events).toEqual([
      { time: Date.parse('2026-03-02T08:15:00Z'), userId: 'u0042', ip: '81.167.144.58', userAgent: 'Mozilla/5.0', deviceId: 'd-91c2', outcome: 'success', label: 'legit', file: 0, line: 1 },
      { time: Date.parse('2026-03-02T08:15:00Z'), userId: 'u0042', ip: '81.167.144.58', userAgent: 'Mozilla/5.0', deviceId: undefined, outcome: 'failure', label: 'brute_force', file: 0, line: 3 },
    ]);
  });

  it('reports each bad line as file:line: field: problem', async () => {
    const bad = [
      '{"time": "2026-03-02T08:15:00Z", "userId": ',
      line({ ...ok, time: '2026-03-02 08:15:00' }),
      line({ ...ok, time: '2026-02-30T08:15:00Z' }),
      line({ ...ok, userId: 42 }),
      line({ ...ok, userId: '' }),
      line({ ...ok, ip: '999.1.1.1' }),
      line({ ...ok, outcome: 'ok' }),
      line({ ...ok, userAgent: 'x'.repeat(3000) }),
      '[1,2]',
      line({ ...ok, label: 7 }),
    ];
    const path = await file('bad.jsonl', [line(ok), ...bad].join('\n'));
    const { events, problems } = await read(path);
    expect(events.map((e) => e.line)).toEqual([1]);
    expect(problems.map((p) => formatProblem(p).replace(path, 'F'))).toEqual([
      expect.stringMatching(/^F:2: record: not valid JSON \(/),
      'F:3: time: "2026-03-02 08:15:00" is not an ISO 8601 time with a zone, e.g. 2026-03-02T08:15:00.000Z',
      'F:4: time: "2026-02-30T08:15:00Z" is not an ISO 8601 time with a zone, e.g. 2026-03-02T08:15:00.000Z',
      'F:5: userId: expected a string',
      'F:6: userId: missing',
      'F:7: ip: "999.1.1.1" is not an IPv4 or IPv6 address',
      'F:8: outcome: expected "success" or "failure", found "ok"',
      'F:9: userAgent: longer than 2048 characters',
      'F:10: record: not a JSON object',
      'F:11: label: expected a string',
    ]);
  });

  it('stops at the first bad line when bad lines are not skipped', async () => {
    const path = await file('stop.jsonl', [line(ok), line({ ...ok, ip: 'nope' }), line(ok)].join('\n'));
    await expect(read(path, { strict: true })).rejects.toThrow(`${path}:2: ip: "nope" is not an IPv4 or IPv6 address`);
  });

  it('detects input out of time order', async () => {
    const at = (t: string) => line({ ...ok, time: t });
    const path = await file('order.jsonl', [at('2026-03-02T08:00:00Z'), at('2026-03-02T09:00:00Z'), at('2026-03-02T08:30:00Z'), at('2026-03-02T09:00:00Z')].join('\n'));
    const { events, problems } = await read(path);
    expect(events.map((e) => e.line)).toEqual([1, 2, 4]);
    expect(problems).toEqual([
      {
        file: path,
        line: 3,
        field: 'time',
        kind: 'order',
        message: 'out of order: 2026-03-02T08:30:00.000Z is earlier than 2026-03-02T09:00:00.000Z on line 2; the input must be sorted by time',
      },
    ]);
  });

  it('refuses a file that is neither format', async () => {
    const path = await file('x.csv', 'a,b,c\n1,2,3\n');
    await expect(read(path)).rejects.toThrow(`${path}:1: header: neither a JSON login event (JSONL) nor the RBA dataset CSV header`);
  });
});

describe('RBA dataset CSV reader', () => {
  it('streams the 2,000 real rows of the sample, across chunk boundaries', async () => {
    for (const chunk of [1 << 20, 4096, 333]) {
      const { events, problems } = await read(RBA_SAMPLE, { chunk });
      expect(problems).toEqual([]);
      expect(events).toHaveLength(2000);
      expect(events.filter((e) => e.outcome === 'success')).toHaveLength(1054);
      expect(events.filter((e) => e.label === 'attack_ip')).toHaveLength(167);
      expect(events.every((e) => e.deviceId === undefined && e.userId !== '')).toBe(true);
      // Row 1 (line 3) has a quoted user agent with commas in it.
      expect(events[1]).toMatchObject({
        line: 3,
        time: Date.parse('2020-02-03T12:43:43.500Z'),
        userId: '-4.32E+18',
        ip: '194.87.207.6',
        userAgent: 'Mozilla/5.0  (Linux; Android 4.1; Galaxy Nexus Build/JRN84D) AppleWebKit/537.36 (KHTML, like Gecko Chrome/46.0.2490.76 Mobile Safari/537.36 Browser',
        outcome: 'failure',
        label: 'legit',
      });
      expect(events[2]).toMatchObject({ line: 4, outcome: 'success' });
      expect(events.at(-1)!.line).toBe(2001);
    }
  });

  it('reads True/False, "-" for empty, doubled quotes and quoted newlines; labels takeovers first', async () => {
    const rows = [
      RBA_HEADER,
      '0,2020-02-03 12:43:30.772,-4324475583306591935,,10.0.65.171,NO,-,-,29695,-,Firefox 20,iOS 13.4,mobile,False,False,False',
      '1,2020-02-03 12:43:31,77,,81.167.144.58,NO,-,-,29695,"Agent ""quoted"", with\ncomma and newline",Chrome,Android,mobile,True,True,True',
      '2,2020-02-03 12:43:32.1,78,,2001:db8::1,NO,-,-,29695,plain,Chrome,Android,mobile,true,TRUE,false',
    ];
    const { events, problems } = await read(await file('r.csv', rows.join('\r\n')));
    expect(problems).toEqual([]);
    expect(events.map((e) => [e.line, e.userId, e.userAgent, e.outcome, e.label, e.time])).toEqual([
      [2, '-4324475583306591935', undefined, 'failure', 'legit', Date.parse('2020-02-03T12:43:30.772Z')],
      [3, '77', 'Agent "quoted", with\ncomma and newline', 'success', 'account_takeover', Date.parse('2020-02-03T12:43:31Z')],
      [5, '78', 'plain', 'success', 'attack_ip', Date.parse('2020-02-03T12:43:32.100Z')],
    ]);
  });

  it('names the column at fault', async () => {
    const rows = [
      RBA_HEADER,
      '0,2020-02-03 12:43:30.772,7,,10.0.65.171,NO,-,-,29695,ua,b,o,mobile,Maybe,False,False',
      '1,yesterday,7,,10.0.65.171,NO,-,-,29695,ua,b,o,mobile,True,False,False',
      '2,2020-02-03 12:43:31,-,,10.0.65.171,NO,-,-,29695,ua,b,o,mobile,True,False,False',
      '3,2020-02-03 12:43:31,7,,10.0.65,NO,-,-,29695,ua,b,o,mobile,True,False,False',
      '4,2020-02-03 12:43:31,7,,10.0.65.171,NO,-,-,29695,ua,b,o',
      '5,2020-02-03 12:43:31,7,,10.0.65.171,NO,-,-,29695,"never closed,b,o,mobile,True,False,False',
    ];
    const path = await file('bad.csv', rows.join('\n'));
    const { events, problems } = await read(path);
    expect(events).toEqual([]);
    expect(problems.map((p) => formatProblem(p).replace(path, 'F'))).toEqual([
      'F:2: Login Successful: expected True or False, found "Maybe"',
      'F:3: Login Timestamp: "yesterday" is not a time like 2020-02-03 12:43:30.772',
      'F:4: User ID: missing',
      'F:5: IP Address: "10.0.65" is not an IPv4 or IPv6 address',
      'F:6: row: expected 16 fields, found 12',
      'F:7: row: a quoted field is not closed at the end of the file',
    ]);
  });

  it('splits records as RFC 4180 says', () => {
    expect(splitCsvRecord('a,"b,c",,"d""e"')).toEqual(['a', 'b,c', '', 'd"e']);
    expect(splitCsvRecord('"x",')).toEqual(['x', '']);
    expect(splitCsvRecord('"open,')).toBeNull();
  });
});

describe('timestamps', () => {
  it('are strict about zones and calendar days', () => {
    expect(parseIsoTime('2026-03-02T08:15:00.123456Z')).toBe(Date.parse('2026-03-02T08:15:00.123Z'));
    expect(parseIsoTime('2026-03-02T09:15:00+01:00')).toBe(Date.parse('2026-03-02T08:15:00Z'));
    for (const bad of ['2026-03-02T08:15:00', '2026-02-29T00:00:00Z', '2026-03-02T24:00:00Z', 'now']) expect(parseIsoTime(bad)).toBeNull();
    expect(parseIsoTime('2028-02-29T00:00:00Z')).toBe(Date.parse('2028-02-29T00:00:00Z'));
    expect(parseRbaTime('2020-02-03 12:43:30.8')).toBe(Date.parse('2020-02-03T12:43:30.800Z'));
    expect(parseRbaTime('2020-02-03T12:43:30Z')).toBeNull();
  });
});

describe('merge', () => {
  it('interleaves files by time; ties go in the order the files were given', async () => {
    const ev = (file: number, line: number, t: number) => ({ time: t, userId: 'u', ip: '1.1.1.1', userAgent: undefined, deviceId: undefined, outcome: 'success' as const, label: 'legit', file, line });
    async function* src(events: LoginEvent[], size: number) {
      for (let i = 0; i < events.length; i += size) yield events.slice(i, i + size);
    }
    const a = [ev(0, 1, 1), ev(0, 2, 5), ev(0, 3, 5), ev(0, 4, 9)];
    const b = [ev(1, 1, 2), ev(1, 2, 5), ev(1, 3, 10)];
    const c = [ev(2, 1, 0)];
    const out: LoginEvent[] = [];
    for await (const batch of mergeByTime([src(a, 3), src(b, 1), src(c, 2)], 2)) out.push(...batch);
    expect(out.map((e) => `${e.file}:${e.line}`)).toEqual(['2:1', '0:1', '1:1', '0:2', '0:3', '1:2', '0:4', '1:3']);
  });
});
