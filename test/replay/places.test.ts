import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayCommand } from '../../src/replay/command.js';
import type { LoginEvent } from '../../src/replay/event.js';
import { readEvents } from '../../src/replay/input.js';
import { replay } from '../../src/replay/replay.js';
import { loadRuleSet } from '../../src/rules/compile.js';
import type { RuleSet } from '../../src/rules/ruleset.js';
import { IP, RULES_DIR, UA } from '../helpers.js';
import { DAY, HOUR, jsonl, removeTempDirs, T0, tempDir } from './helpers.js';

const HEADER =
  'index,Login Timestamp,User ID,Round-Trip Time [ms],IP Address,Country,Region,City,ASN,User Agent String,Browser Name and Version,OS Name and Version,Device Type,Login Successful,Is Attack IP,Is Account Takeover';

interface Row {
  at: number;
  ip: string;
  country: string;
  region?: string;
  city?: string;
  asn?: string;
}

/** RBA dataset rows for user 7, all successful logins from one browser. */
async function rbaCsv(dir: string, name: string, rows: readonly Row[], header = HEADER): Promise<string> {
  const time = (t: number) => new Date(t).toISOString().replace('T', ' ').replace('Z', '');
  const lines = rows.map((r, i) => `${i},${time(r.at)},7,,${r.ip},${r.country},${r.region ?? '-'},${r.city ?? '-'},${r.asn ?? '29695'},"${UA.chromeWindows}",Chrome,Windows,desktop,True,False,False`);
  const path = join(dir, name);
  await writeFile(path, `${[header, ...lines].join('\n')}\n`);
  return path;
}

const home = (i: number): Row => ({ at: T0 + i * DAY, ip: '10.0.65.171', country: 'NO', region: 'Vestland', city: 'Bergen', asn: '29695' });

let rules: RuleSet;
beforeAll(async () => {
  rules = await loadRuleSet(RULES_DIR);
});
afterAll(removeTempDirs);

async function fired(path: string, geo: 'geoip' | 'csv'): Promise<string[][]> {
  const out = join(await tempDir(), 'd.jsonl');
  await replay({ files: [path], rules, out, geo });
  return (await readFile(out, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { reasons: string[] }).reasons);
}

describe('the RBA CSV places logins itself', () => {
  it('reads Country, Region, City and ASN ("-" is empty); a file without them has no place', async () => {
    const dir = await tempDir();
    const path = await rbaCsv(dir, 'p.csv', [home(0), { at: T0 + DAY, ip: IP.germany, country: 'DE', asn: '-' }]);
    const events: LoginEvent[] = [];
    const hooks = { problem: () => {}, bytes: () => {} };
    for await (const b of readEvents({ path, index: 0 }, hooks)) events.push(...b);
    expect(events.map((e) => e.place)).toEqual([
      { country: 'NO', region: 'Vestland', city: 'Bergen', asn: 29695 },
      { country: 'DE', region: '', city: '', asn: null },
    ]);

    const bare = join(dir, 'bare.csv');
    await writeFile(bare, `index,Login Timestamp,User ID,IP Address,User Agent String,Login Successful,Is Attack IP,Is Account Takeover\n0,2020-02-03 12:43:30.772,7,10.0.65.171,-,True,False,False\n`);
    const plain: LoginEvent[] = [];
    for await (const b of readEvents({ path: bare, index: 0 }, hooks)) plain.push(...b);
    expect(plain).toHaveLength(1);
    expect(plain[0]!.place).toBeUndefined();
  });

  it('with --geo csv, locates every address, private ones too, from the columns', async () => {
    const dir = await tempDir();
    // Ten days at home on a private address, then the same address recorded in Brazil.
    const path = await rbaCsv(dir, 'private.csv', [...Array.from({ length: 10 }, (_, i) => home(i)), { at: T0 + 10 * DAY, ip: '10.0.65.171', country: 'BR' }]);
    expect((await fired(path, 'geoip')).at(-1)).not.toContain('geo.new_country'); // no database places 10.x
    expect((await fired(path, 'csv')).at(-1)).toContain('geo.new_country');
  });

  it('with --geo csv, names places without coordinates: travel measures 0 km, so impossible travel cannot fire', async () => {
    const dir = await tempDir();
    // At home in Norway, then an hour later an address geoip-lite places in Brazil, which the CSV records in Norway.
    const rows = [...Array.from({ length: 10 }, (_, i) => ({ ...home(i), ip: IP.homeNO })), { at: T0 + 9 * DAY + HOUR, ip: IP.brazil, country: 'NO' }];
    const path = await rbaCsv(dir, 'travel.csv', rows);
    expect((await fired(path, 'geoip')).at(-1)).toEqual(expect.arrayContaining(['geo.impossible_travel', 'geo.new_country']));
    const csv = (await fired(path, 'csv')).at(-1)!;
    expect(csv.filter((id) => id.startsWith('geo.'))).toEqual([]);
  });

  it('refuses --geo csv for input that records no place, and a --geo it does not know', async () => {
    const dir = await tempDir();
    const file = await jsonl(dir, 'in.jsonl', [{ at: T0, userId: 'u1', ip: IP.homeNO }]);
    const r = await replayCommand([file, '--geo', 'csv']);
    expect(r.code).toBe(2);
    expect(r.stderr).toEqual([`riskgate replay: ${file}:1: --geo csv reads the place from the RBA CSV's Country, Region, City and ASN columns, and this file has none; nothing was written.`]);
    expect((await replayCommand([file, '--geo', 'maxmind'])).stderr[0]).toBe('riskgate replay: --geo: "maxmind" is not one of geoip, csv');
  });
});
