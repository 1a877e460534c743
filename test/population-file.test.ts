import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { loadPopulation, POPULATION_FILE, PopulationFile } from '../src/lifecycle/population-file.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { Population } from '../src/signals/familiarity.js';
import { IP, observation, RULES_DIR, UA } from './helpers.js';

const dirs: string[] = [];
async function dataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'riskgate-population-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A population of `n` logins, each from an address of its own (so `n` distinct addresses). */
function populated(n: number): Population {
  const p = new Population();
  for (let i = 0; i < n; i++) p.add(observation({ address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, hour: i % 24 }));
  return p;
}

describe('the familiarity population in the data directory', () => {
  it('is saved (mode 0600) and loaded back with the same counts', async () => {
    const dir = await dataDir();
    const saved = populated(12_000);
    await new PopulationFile(saved, dir).save();
    expect((await stat(join(dir, POPULATION_FILE))).mode & 0o777).toBe(0o600);
    const warnings: string[] = [];
    const loaded = await loadPopulation(dir, (w) => warnings.push(w));
    expect(warnings).toEqual([]);
    expect(loaded.snapshot()).toEqual(saved.snapshot());
    expect(loaded.logins).toBe(12_000);
  });

  it('is written a few thousand values per event-loop turn, so a save does not hold the loop', async () => {
    const dir = await dataDir();
    const file = new PopulationFile(populated(30_000), dir);
    let turns = 0;
    let done = false;
    const saving = file.save().then(() => (done = true));
    const tick = (): void => {
      if (done) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    await saving;
    // 30,000 addresses in chunks of 5,000 (and the other features): at least six turns passed.
    expect(turns).toBeGreaterThanOrEqual(6);
  });

  it('starts empty without a file, and empty with a warning from a file it cannot read', async () => {
    const dir = await dataDir();
    const warnings: string[] = [];
    expect((await loadPopulation(dir, (w) => warnings.push(w))).logins).toBe(0);
    expect(warnings).toEqual([]);
    await writeFile(join(dir, POPULATION_FILE), '{"v":1,"counts":{"address":[["1.2.3.4",');
    expect((await loadPopulation(dir, (w) => warnings.push(w))).logins).toBe(0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^population\.json: .*starting with an empty population$/);
  });

  it('survives a restart of the server: what it learned before the stop is counted after', async () => {
    const data = await dataDir();
    const start = () => startServer({ config: loadConfig({ data, rules: RULES_DIR, port: '0' }), env: { RISKGATE_API_KEYS: 'k-0123456789abcdef' }, logger: createLogger('silent'), announce: () => {} });
    const first = await start();
    for (let i = 0; i < 5; i++) await first.engine.decide({ userId: `u${i}`, ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: `d${i}` });
    const learned = first.engine.population.logins;
    expect(learned).toBeGreaterThan(0);
    await first.close();
    const second = await start();
    expect(second.engine.population.logins).toBe(learned);
    expect(second.engine.population.counts('country').get('NO')).toBe(learned);
    await second.close();
  });
});
