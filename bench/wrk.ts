import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** CPU time (user + system) a process has used so far, in µs: what a request costs it, whatever else runs on the machine. */
export function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** What bench/wrk-bodies.lua prints at the end of a run. */
export interface WrkResult {
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/**
 * Runs wrk (two threads) against `url`'s POST /v1/decisions with the JSON bodies of `bodiesFile`
 * (one per line, sent in turn by bench/wrk-bodies.lua) and the API key `key`; latencies in ms.
 */
export async function runWrk(url: string, bodiesFile: string, o: { seconds: number; connections: number; key: string }): Promise<WrkResult> {
  const script = join(import.meta.dirname, '..', '..', '..', 'bench', 'wrk-bodies.lua');
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('wrk', ['-t2', `-c${o.connections}`, `-d${o.seconds}s`, '--timeout', '10s', '-s', script, url], {
      env: { ...process.env, WRK_BODIES: bodiesFile, WRK_AUTH: o.key },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    p.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}`))));
  });
  const m = /^wrk-result (.*)$/m.exec(out);
  if (!m) throw new Error(`wrk printed no result:\n${out}`);
  return JSON.parse(m[1]!) as WrkResult;
}
