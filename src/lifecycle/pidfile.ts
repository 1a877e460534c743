import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StartError } from '../errors.js';

/** `<data dir>/riskgate.pid`: the process id of the server serving that directory, one line. */
export const PID_FILE = 'riskgate.pid';

/** The pid in the data directory's pid file, or null when there is none (or it holds no pid). */
export function readPidFile(dataDir: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(dataDir, PID_FILE), 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Whether `pid` is a running riskgate. A pid file outlives a killed server, and after a
 * reboot its pid may belong to another program: where /proc shows the command line, a
 * process whose command line does not name riskgate (`serve` sets its title) does not count.
 */
export function isRiskgate(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists, under another user.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return true;
  }
  return cmdline.includes('riskgate');
}

/**
 * Writes this process's pid into the data directory, unless a live riskgate holds it
 * (StartError); a stale file from a killed server is replaced. Returns the release, which
 * removes the file if it is still this process's.
 */
export function claimPidFile(dataDir: string): () => void {
  const file = join(dataDir, PID_FILE);
  mkdirSync(dataDir, { recursive: true });
  for (;;) {
    try {
      // Exclusive create: of two servers starting at once, one gets the file.
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readPidFile(dataDir);
    if (holder !== null && isRiskgate(holder)) throw new StartError(`another riskgate (pid ${holder}) is serving the data directory ${dataDir}`);
    try {
      unlinkSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return () => {
    if (readPidFile(dataDir) === process.pid) unlinkSync(file);
  };
}
