import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import type { CommandOutput } from '../../command.js';
import { parseIsoTime } from '../timestamps.js';
import { DEFAULT_STREAM, generate } from './generate.js';
import { eventLine } from './stream.js';

export const USAGE = 'usage: riskgate generate [--seed 1] [--users 2000] [--days 42] [--start 2026-03-02] [--device-keys 0.3] [--out FILE]';

function positiveInt(name: string, v: string): number | string {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : `--${name}: "${v}" is not a positive whole number`;
}

function share(name: string, v: string): number | string {
  const n = Number(v);
  return v.trim() !== '' && Number.isFinite(n) && n >= 0 && n <= 1 ? n : `--${name}: "${v}" is not a share between 0 and 1`;
}

/** `riskgate generate`: a seeded, labelled login stream as JSONL (replay's input, docs/replay.md#input), for replay demos, tests and benchmarks. */
export async function generateCommand(args: string[]): Promise<CommandOutput> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      seed: { type: 'string', default: DEFAULT_STREAM.seed },
      users: { type: 'string', default: String(DEFAULT_STREAM.users) },
      days: { type: 'string', default: String(DEFAULT_STREAM.days) },
      start: { type: 'string', default: new Date(DEFAULT_STREAM.start).toISOString().slice(0, 10) },
      'device-keys': { type: 'string', default: String(DEFAULT_STREAM.deviceKeys) },
      out: { type: 'string' },
    },
  });
  const users = positiveInt('users', values.users);
  const days = positiveInt('days', values.days);
  const start = parseIsoTime(`${values.start}T00:00:00Z`);
  const deviceKeys = share('device-keys', values['device-keys']);
  const problem = [users, days, deviceKeys].find((x) => typeof x === 'string') ?? (start === null ? `--start: "${values.start}" is not a date like 2026-03-02` : null);
  if (problem !== null) return { code: 2, stdout: [], stderr: [`riskgate generate: ${problem}`, USAGE] };

  const sink = values.out ? createWriteStream(values.out) : process.stdout;
  let chunk = '';
  const flush = async () => {
    // Respect back-pressure: a million events must not pile up in the stream's buffer.
    if (!sink.write(chunk)) await once(sink, 'drain');
    chunk = '';
  };
  const labels = new Map<string, number>();
  let events = 0;
  for (const e of generate({ seed: values.seed, users: users as number, days: days as number, start: start!, deviceKeys: deviceKeys as number })) {
    chunk += `${eventLine(e)}\n`;
    events++;
    labels.set(e.label, (labels.get(e.label) ?? 0) + 1);
    if (chunk.length >= 1 << 20) await flush();
  }
  if (chunk) await flush();
  if (sink !== process.stdout) {
    sink.end();
    await once(sink, 'finish');
  }
  const summary = [...labels].map(([l, n]) => `${l} ${n}`).join(', ');
  return { code: 0, stdout: [], stderr: [`riskgate generate: ${events} events (${summary})${values.out ? ` → ${values.out}` : ''}`] };
}
