import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_STREAM, generate, type GenerateOptions } from '../../src/replay/generate/generate.js';
import { eventLine } from '../../src/replay/generate/stream.js';

export const T0 = Date.parse('2026-03-02T08:00:00Z');
export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;

const made: string[] = [];

/** A temporary directory, removed by `removeTempDirs` (call it in afterAll). */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'riskgate-replay-test-'));
  made.push(dir);
  return dir;
}

/** Removes `dir` with the temporary directories (e.g. a copy of the rules). */
export function removeLater(dir: string): string {
  made.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

export interface Ev {
  at: number;
  userId: string;
  ip: string;
  userAgent?: string;
  deviceId?: string;
  outcome?: 'success' | 'failure';
  label?: string;
}

/** Writes events as JSONL (docs/replay.md#input), in the order given. */
export async function jsonl(dir: string, name: string, events: readonly Ev[]): Promise<string> {
  const path = join(dir, name);
  const lines = events.map((e) =>
    JSON.stringify({ time: new Date(e.at).toISOString(), userId: e.userId, ip: e.ip, userAgent: e.userAgent, deviceId: e.deviceId, outcome: e.outcome ?? 'success', label: e.label }),
  );
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

/** A small generated stream on disk: a few weeks of a few dozen users, with every attack kind. */
export async function smallStream(dir: string, o: Partial<GenerateOptions> = {}): Promise<string> {
  const path = join(dir, 'stream.jsonl');
  const events = [...generate({ ...DEFAULT_STREAM, seed: 'test', users: 120, days: 21, start: Date.parse('2026-03-02T00:00:00Z'), ...o })];
  await writeFile(path, events.map((e) => `${eventLine(e)}\n`).join(''));
  return path;
}
