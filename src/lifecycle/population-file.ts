import { chmod, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { PRIVATE_FILE_MODE } from '../files.js';
import { Population, type PopulationSnapshot } from '../signals/familiarity.js';

/** The familiarity population's file in the data directory. */
export const POPULATION_FILE = 'population.json';

/** Values written per event-loop turn: a full population is a few hundred thousand, and written at once it held the loop for ~100 ms. */
const CHUNK = 5_000;

/**
 * The population a server starts with: what it saved in its data directory when it last
 * stopped (or at its last periodic save), so that familiarity does not start from nothing
 * after every restart. A missing file is an empty population; an unreadable one too, with the
 * reason in `warn` (the counts are statistics, not acknowledged state: losing them costs
 * familiarity its warm-up again, nothing else).
 */
export async function loadPopulation(dataDir: string, warn: (reason: string) => void): Promise<Population> {
  const population = new Population();
  const path = join(dataDir, POPULATION_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') warn(`${POPULATION_FILE}: ${(e as Error).message}; starting with an empty population`);
    return population;
  }
  // One an older riskgate left readable to others is narrowed, like the data directory's other files.
  await chmod(path, PRIVATE_FILE_MODE).catch(() => {});
  try {
    const snapshot = JSON.parse(text) as PopulationSnapshot;
    if (snapshot?.v !== 1 || typeof snapshot.counts !== 'object' || snapshot.counts === null) throw new Error('not a population snapshot (version 1)');
    population.merge(snapshot);
  } catch (e) {
    warn(`${POPULATION_FILE}: ${(e as Error).message}; starting with an empty population`);
    return new Population();
  }
  return population;
}

/**
 * Writes the population to the data directory a few thousand values per event-loop turn, to a
 * temporary file (mode 0600) renamed over the last one, so a crash mid-write leaves the last
 * whole snapshot. Calls are serialised: a save asked for while one runs follows it.
 */
export class PopulationFile {
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly population: Population,
    private readonly dataDir: string,
  ) {}

  save(): Promise<void> {
    this.running = this.running.catch(() => {}).then(() => this.write());
    return this.running;
  }

  private async write(): Promise<void> {
    const path = join(this.dataDir, POPULATION_FILE);
    const tmp = `${path}.tmp`;
    const file = await open(tmp, 'w', PRIVATE_FILE_MODE);
    try {
      await file.chmod(PRIVATE_FILE_MODE);
      await file.write('{"v":1,"counts":{');
      for (const [i, [name, counts]] of this.population.parts().entries()) {
        // The values as they are now: learning goes on between turns, and only changes counts.
        const entries = [...counts.entries()];
        await file.write(`${i ? ',' : ''}${JSON.stringify(name)}:[`);
        for (let at = 0; at < entries.length; at += CHUNK) {
          await nextTurn();
          const chunk = JSON.stringify(entries.slice(at, at + CHUNK));
          await file.write(`${at ? ',' : ''}${chunk.slice(1, -1)}`);
        }
        await file.write(']');
      }
      await file.write('}}\n');
    } catch (e) {
      await file.close();
      await rm(tmp, { force: true });
      throw e;
    }
    await file.close();
    await rename(tmp, path);
  }
}
