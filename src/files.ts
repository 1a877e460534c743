import { chmodSync, closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The data directory holds the database (phones, e-mails, location history), the generated
 * secret and the API key digests: only the user riskgate runs as may read it. Every file
 * riskgate puts there is made (or made again) 0600, and the directory 0700.
 */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Creates the directory 0700, or narrows an existing one to 0700 when riskgate may. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  try {
    chmodSync(dir, PRIVATE_DIR_MODE);
  } catch (e) {
    // A directory owned by someone else (a mounted volume): its files are still 0600.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
  }
}

/** Writes `name` in `dir` as a 0600 file (also when it existed with a wider mode); returns its path. */
export function writePrivateFile(dir: string, name: string, text: string): string {
  ensurePrivateDir(dir);
  const file = join(dir, name);
  writeFileSync(file, text, { mode: PRIVATE_FILE_MODE });
  chmodSync(file, PRIVATE_FILE_MODE);
  return file;
}

/**
 * Makes sure `file` exists as a 0600 file without changing its content, before a library
 * (SQLite) opens it: SQLite creates its -wal and -shm files with the mode of the database.
 * Those of an older, wider database are narrowed too.
 */
export function preparePrivateFile(file: string, siblings: readonly string[] = []): void {
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  for (const f of [file, ...siblings]) narrowFile(f);
}

/** A file an older riskgate made with a wider mode becomes 0600; a missing one is left missing. */
export function narrowFile(file: string): void {
  if (existsSync(file)) chmodSync(file, PRIVATE_FILE_MODE);
}
