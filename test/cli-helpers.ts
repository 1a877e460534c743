import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { main } from '../src/main.js';

export const REPO = join(import.meta.dirname, '..');
const CLI = join(REPO, 'src/cli.ts');
/** Node flags that run the TypeScript source as vitest does (test/ts-hooks.mjs): no build, no stale dist/. */
const RUN_TS = ['--import', `data:text/javascript,import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(join(REPO, 'test/ts-hooks.mjs')).href)});`];

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `riskgate ARGV` in this process (src/main.ts, as src/cli.ts runs it): its exit code and what it printed. */
export async function cli(argv: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(`${l}\n`), err: (l) => err.push(`${l}\n`) });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

export interface Served {
  child: ChildProcess;
  url: string;
  /** The JSON log lines so far. */
  logs: { msg?: string; [k: string]: unknown }[];
  stderr: string[];
  /** The exit code, once it exits. */
  exited: Promise<number | null>;
  /** Resolves with the first log line (so far or to come) that `match` accepts. */
  logged(match: (line: { msg?: string; [k: string]: unknown }) => boolean): Promise<{ msg?: string; [k: string]: unknown }>;
}

/** `riskgate serve ARGS` from the current source in a process of its own, once it listens. */
export async function spawnServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const child = spawn(process.execPath, [...RUN_TS, CLI, 'serve', ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Served['logs'] = [];
  const stderr: string[] = [];
  const waiting: { match: (l: Served['logs'][number]) => boolean; resolve: (l: Served['logs'][number]) => void }[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const log = JSON.parse(line) as Served['logs'][number];
    logs.push(log);
    for (const w of waiting.filter((x) => x.match(log))) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(log);
    }
  });
  const logged: Served['logged'] = (match) => {
    const seen = logs.find(match);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => waiting.push({ match, resolve }));
  };
  const listening = await Promise.race([logged((l) => l.msg === 'riskgate listening'), exited.then((code) => new Error(`riskgate serve exited with ${code}: ${stderr.join('\n')}`))]);
  if (listening instanceof Error) throw listening;
  return { child, url: String(listening.address), logs, stderr, exited, logged };
}
