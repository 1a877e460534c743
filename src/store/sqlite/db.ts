import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { PRIVATE_DIR_MODE, preparePrivateFile } from '../../files.js';
import { migrate } from './schema.js';

export type Statement = Database.Statement;

/** A write does not wait for its commit in an ephemeral database; a batch commits every this many writes instead. */
const EPHEMERAL_BATCH = 5000;

export interface SqliteDbOptions {
  /** A file path, or ":memory:" for tests and rule tests. */
  path: string;
  /**
   * Throwaway state (replay, rule tests): no crash safety (rollback journal in memory, no
   * fsync, an exclusive lock), and a write does not wait for its commit; transactions commit
   * every EPHEMERAL_BATCH writes instead of every event-loop turn.
   */
  ephemeral?: boolean | undefined;
}

/**
 * One SQLite file in WAL mode through better-sqlite3, owned by one process, shared by the
 * backend's ports. Writes are group-committed: the first write of an event-loop turn opens a
 * transaction, every write of that turn joins it, and it commits at the end of the turn. A
 * write's promise resolves only after its commit, so whatever a caller acknowledges is on
 * disk, while a burst of concurrent logins shares one commit instead of paying one each.
 */
export class SqliteDb {
  readonly db: Database.Database;
  readonly ephemeral: boolean;
  private batch: { done: Promise<void>; resolve: () => void; reject: (e: unknown) => void; writes: number } | null = null;
  private readonly beforeCommit: (() => void)[] = [];
  private readonly afterRollback: (() => void)[] = [];

  constructor(opts: SqliteDbOptions) {
    if (opts.path !== ':memory:') {
      // A new directory is private; an existing one is the server's to narrow (it names the data directory).
      mkdirSync(dirname(opts.path), { recursive: true, mode: PRIVATE_DIR_MODE });
      // SQLite makes the -wal and -shm files with the database's mode.
      preparePrivateFile(opts.path, [`${opts.path}-wal`, `${opts.path}-shm`, `${opts.path}-journal`]);
    }
    this.db = new Database(opts.path);
    this.ephemeral = opts.ephemeral ?? false;
    if (this.ephemeral) {
      this.db.pragma('journal_mode = MEMORY');
      this.db.pragma('synchronous = OFF');
      this.db.pragma('locking_mode = EXCLUSIVE');
    } else {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
    }
    this.db.pragma('cache_size = -65536'); // 64 MiB: profiles and the recent audit pages stay in memory
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
  }

  /** Prepares each statement once; the result has exactly `sql`'s names. */
  prepare<const T extends Record<string, string>>(sql: T): { [K in keyof T]: Statement } {
    const out = {} as { [K in keyof T]: Statement };
    for (const [name, text] of Object.entries(sql)) out[name as keyof T] = this.db.prepare(text);
    return out;
  }

  /** `fn` runs before every commit, inside the transaction (rows a port holds back, to insert them together). */
  onCommit(fn: () => void): void {
    this.beforeCommit.push(fn);
  }

  /** `fn` runs after a rollback: what a port keeps in memory may hold what was never committed. */
  onRollback(fn: () => void): void {
    this.afterRollback.push(fn);
  }

  /**
   * Runs `fn` (synchronous SQL) inside the current batch transaction, opening one if needed;
   * the promise settles when the batch commits (or fails to).
   */
  write<T>(fn: () => T): Promise<T> {
    if (!this.batch) {
      this.db.exec('BEGIN');
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      this.batch = { done, resolve, reject, writes: 0 };
      done.catch(() => {}); // ephemeral writers do not wait on it; a failure still reaches fail()'s caller
      setImmediate(() => this.commit());
    }
    let result: T;
    try {
      result = fn();
    } catch (e) {
      // A statement failed halfway through an operation: undo the whole batch rather than keep half of it.
      this.fail(e);
      throw e;
    }
    if (!this.ephemeral) return this.batch.done.then(() => result);
    if (++this.batch.writes >= EPHEMERAL_BATCH) this.commit();
    return Promise.resolve(result);
  }

  private fail(e: unknown): void {
    const batch = this.batch;
    this.batch = null;
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
    for (const fn of this.afterRollback) fn();
    batch?.reject(e);
  }

  commit(): void {
    const batch = this.batch;
    if (!batch) return;
    try {
      for (const fn of this.beforeCommit) fn();
      this.db.exec('COMMIT');
      this.batch = null;
      batch.resolve();
    } catch (e) {
      this.fail(e);
    }
  }

  /** Commits what is pending and closes the file. */
  close(): void {
    this.commit();
    if (this.db.open) this.db.close();
  }
}
