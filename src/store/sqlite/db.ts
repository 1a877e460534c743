import { closeSync, existsSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { PRIVATE_DIR_MODE, preparePrivateFile } from '../../files.js';
import { migrate } from './schema.js';

export type Statement = Database.Statement;

/** A write does not wait for its commit in an ephemeral database; a batch commits every this many writes instead. */
const EPHEMERAL_BATCH = 5000;
/** With a journal, the tables' transaction commits this often (and at close)... */
const COMMIT_EVERY_MS = 200;
/** ...or once the journal holds this much, whichever comes first: it bounds the replay at start. */
const COMMIT_JOURNAL_BYTES = 16 << 20;
/**
 * Deferred changes (SqliteDb.defer: profiles) are sealed this often: the journal file moves
 * aside (`-journal.old.jsonl`) and what changed until then is written to the tables a slice at
 * each of the next DRAIN_COMMITS commits (no stall), after which the old file is deleted. Until
 * then they are journal records and memory; a user who logs in several times within it costs
 * one table write.
 */
const SEAL_EVERY_MS = 2000;
const DRAIN_COMMITS = 8;

/** A port's deferred changes (SqliteDb.defer), written to the tables behind the journal. */
export interface DeferredWriter {
  /** Sets aside what changed so far, for `drain`; returns how many writes that is. */
  seal(): number;
  /**
   * Writes up to `max` of what was sealed (inside the tables' transaction), each with `turn`:
   * the last journal turn it holds (its redo skips earlier ones); returns how many are left.
   */
  drain(max: number, turn: number): number;
}

/**
 * Runs deferred changes again at start, in journal order, straight on the tables (`finish` once
 * the last is run). Passed to SqliteDb so that recovery needs no port to exist yet.
 */
export interface DeferredRedo {
  /** `turn`: the journal turn that recorded it (a row may hold it already). */
  apply(db: Database.Database, name: string, args: unknown[], turn: number): void;
  finish(db: Database.Database): void;
}

export interface SqliteDbOptions {
  /** A file path, or ":memory:" for tests and rule tests. */
  path: string;
  /**
   * Throwaway state (replay, rule tests): no crash safety (rollback journal in memory, no
   * fsync, an exclusive lock), and a write does not wait for its commit; transactions commit
   * every EPHEMERAL_BATCH writes instead of every event-loop turn.
   */
  ephemeral?: boolean | undefined;
  /**
   * Survive power loss too, not only the process being killed: each turn's journal write is
   * followed by fdatasync, and SQLite commits with synchronous=FULL. Slower (docs/configuration.md).
   */
  fsync?: boolean | undefined;
  /**
   * Read only (`riskgate explain --data`, beside a running server): nothing is written, the
   * journal is neither run nor emptied, and what the tables hold is what the server committed
   * (at most COMMIT_EVERY_MS old). Writes throw.
   */
  readonly?: boolean | undefined;
  /** How deferred changes (`SqliteDb.defer`) are run again from the journal at start. */
  redo?: DeferredRedo | undefined;
}

/** One turn's journal line: its sequence number, statements first used in it, and what ran. */
interface JournalTurn {
  s: number;
  /** New statement ids in this journal file: id → SQL. */
  q?: Record<number, string>;
  /**
   * [statement id, arguments] in the order they ran; a deferred change (SqliteDb.defer) is
   * [its name, arguments] among them.
   */
  r: [number | string, unknown[]][];
}

interface Batch {
  done: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
  writes: number;
}

/**
 * One SQLite file in WAL mode through better-sqlite3, owned by one process, shared by the
 * backend's ports. Writes are grouped by event-loop turn: the first write of a turn opens a
 * batch, every write of that turn joins it, and it ends at the end of the turn. A write's
 * promise resolves only after its batch is durable, so whatever a caller acknowledges survives
 * the process being killed, while a burst of concurrent logins shares the cost.
 *
 * On a file (not ephemeral), "durable" means the journal: every statement that changes the
 * database is recorded as it runs, and at the end of the turn the turn's statements go to
 * `<path>-journal.jsonl` in one write(2) (plus fdatasync with `fsync`). The tables are changed
 * at once, inside a transaction that commits behind the answers, every COMMIT_EVERY_MS, and
 * records the last turn it holds; at start, the turns after it are run again from the journal.
 * A failed batch rolls back to the turn's savepoint: earlier turns stay.
 *
 * In memory (tests), a turn commits its own transaction.
 */
export class SqliteDb {
  readonly db: Database.Database;
  readonly ephemeral: boolean;
  private batch: Batch | null = null;
  private readonly beforeCommit: (() => void)[] = [];
  private readonly afterCommit: (() => void)[] = [];
  private readonly afterRollback: ((lost: boolean) => void)[] = [];
  private readonly journal: Journal | null = null;

  constructor(opts: SqliteDbOptions) {
    if (opts.path !== ':memory:' && !opts.readonly) {
      // A new directory is private; an existing one is the server's to narrow (it names the data directory).
      mkdirSync(dirname(opts.path), { recursive: true, mode: PRIVATE_DIR_MODE });
      // SQLite makes the -wal and -shm files with the database's mode.
      preparePrivateFile(opts.path, [`${opts.path}-wal`, `${opts.path}-shm`, `${opts.path}-journal`, `${opts.path}-journal.jsonl`, `${opts.path}-journal.old.jsonl`]);
    }
    this.db = new Database(opts.path, opts.readonly ? { readonly: true, fileMustExist: true } : {});
    this.ephemeral = opts.ephemeral ?? false;
    if (opts.readonly) {
      // The journal mode and the schema are the owner's to set.
    } else if (this.ephemeral) {
      this.db.pragma('journal_mode = MEMORY');
      this.db.pragma('synchronous = OFF');
      this.db.pragma('locking_mode = EXCLUSIVE');
    } else {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(opts.fsync ? 'synchronous = FULL' : 'synchronous = NORMAL');
    }
    this.db.pragma('cache_size = -65536'); // 64 MiB: profiles and the recent audit pages stay in memory
    // Each turn runs in a savepoint (Journal.beginTurn), and SQLite keeps what a savepoint may have
    // to undo (the first change of each page in it) in a statement journal. On disk, past 64 KiB
    // it spilled to a new temporary file every few turns: two write(2) per page, ~3 per decision.
    this.db.pragma('temp_store = MEMORY');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    if (!this.ephemeral && !opts.readonly && opts.path !== ':memory:') {
      this.journal = new Journal(this.db, `${opts.path}-journal.jsonl`, `${opts.path}-journal.old.jsonl`, opts.fsync ?? false, opts.redo ?? null, (lost) => {
        for (const fn of this.afterRollback) fn(lost);
      });
      this.journal.recover();
      this.journal.instrument(() => this.batch !== null);
    }
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

  /** `fn` runs once a batch is durable (its turn is in the journal, or committed). */
  onCommitted(fn: () => void): void {
    this.afterCommit.push(fn);
  }

  /**
   * `fn` runs after a rollback: what a port keeps in memory may hold what was never committed.
   * `lost`: the whole transaction was lost and the tables were brought back from the journal,
   * deferred changes included (they are in the tables now).
   */
  onRollback(fn: (lost: boolean) => void): void {
    this.afterRollback.push(fn);
  }

  /** Whether changes may be deferred (`defer`): a file store with a journal. */
  get defers(): boolean {
    return this.journal !== null;
  }

  /**
   * Records a deferred change in the open batch (call inside `write`): the journal keeps `name`
   * and `args` instead of SQL, and the port keeps the change in memory until its writer (`onDeferred`)
   * writes it to the tables; at start, the options' `redo` runs again those the tables missed.
   */
  defer(name: string, args: unknown[]): void {
    this.journal!.recordDeferred(name, args);
  }

  /** The port's writer of its deferred changes (see `defer`). */
  onDeferred(w: DeferredWriter): void {
    this.journal?.writers.push(w);
  }

  /**
   * Runs `fn` (synchronous SQL) inside the current batch, opening one if needed; the promise
   * settles when the batch is durable (or fails).
   */
  write<T>(fn: () => T): Promise<T> {
    if (!this.batch) {
      if (this.journal) this.journal.beginTurn();
      else this.db.exec('BEGIN');
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
    const lost = this.journal ? this.journal.rollbackTurn() : (this.db.inTransaction && this.db.exec('ROLLBACK'), false);
    if (!lost) for (const fn of this.afterRollback) fn(false);
    batch?.reject(e);
  }

  /** Ends the open batch: commits it, or with a journal writes its turn there. */
  commit(): void {
    const batch = this.batch;
    if (!batch) return;
    try {
      for (const fn of this.beforeCommit) fn();
      if (this.journal) this.journal.endTurn();
      else this.db.exec('COMMIT');
      this.batch = null;
      for (const fn of this.afterCommit) fn();
      batch.resolve();
    } catch (e) {
      this.fail(e);
    }
  }

  /** Commits the tables now, deferred changes included, after which the journal is empty. */
  checkpoint(): void {
    this.commit();
    this.journal?.commitTables(true);
  }

  /** Commits what is pending and closes the file. */
  close(): void {
    this.commit();
    this.journal?.close();
    if (this.db.open) this.db.close();
  }
}

/**
 * The redo journal of a SqliteDb (see there): statements that change the database, recorded
 * as they run and written once per turn; the tables' own transaction commits behind it.
 */
class Journal {
  /** SQL → statement id in the current journal file. */
  private readonly ids = new Map<string, number>();
  private newIds: Record<number, string> | null = null;
  private runs: [number | string, unknown[]][] = [];
  private seq = 0;
  private bytes = 0;
  private turnOpen = false;
  private replaying = false;
  private fd: number;
  private commitTimer: NodeJS.Timeout | null = null;
  private commitDue = false;
  private flushDue = false;
  /** When the deferred changes are next sealed (SEAL_EVERY_MS). */
  private sealAt = 0;
  /** Deferred changes recorded since the last seal. */
  private unsealed = false;
  /** While sealed changes are written: the last turn of the old file, and how many writes per commit. */
  private draining: { upTo: number; perCommit: number } | null = null;
  /** The ports' writers of deferred changes (SqliteDb.onDeferred). */
  readonly writers: DeferredWriter[] = [];

  constructor(
    private readonly db: Database.Database,
    readonly path: string,
    readonly oldPath: string,
    private readonly fsync: boolean,
    private readonly redo: DeferredRedo | null,
    private readonly lostTransaction: (lost: boolean) => void,
  ) {
    this.fd = openSync(path, 'a+', 0o600);
  }

  /**
   * Runs again the turns the tables did not commit (the process was killed), and the deferred
   * changes they had not been given yet, then empties the journal.
   */
  recover(): void {
    const state = this.db.prepare('SELECT seq, deferred FROM journal_state WHERE id = 1').get() as { seq: number; deferred: number };
    const committed = state.seq;
    // The old file (its sealed changes were still being written) first, then the current one.
    const files = [this.oldPath, this.path].filter((f) => existsSync(f));
    let last = committed;
    this.replaying = true;
    this.db.exec('BEGIN');
    try {
      for (const file of files) {
       const sql = new Map<number, Statement>(); // statement ids are per file
       for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line) continue;
        let turn: JournalTurn;
        try {
          turn = JSON.parse(line) as JournalTurn;
        } catch {
          break; // a torn last line (power loss without fsync): that turn was never acknowledged
        }
        for (const [id, text] of Object.entries(turn.q ?? {})) sql.set(Number(id), this.db.prepare(text));
        if (turn.s <= state.deferred) continue;
        for (const [id, args] of turn.r) {
          if (typeof id === 'string') {
            if (!this.redo) throw new Error(`${this.path}: deferred change "${id}" with nothing to run it`);
            this.redo.apply(this.db, id, args, turn.s);
            continue;
          }
          if (turn.s <= committed) continue;
          const st = sql.get(id);
          if (!st) throw new Error(`${this.path}: statement ${id} used before it is defined`);
          st.run(...args.map(fromJournal));
        }
        last = Math.max(last, turn.s);
       }
      }
      this.redo?.finish(this.db);
      this.db.prepare('UPDATE journal_state SET seq = ?, deferred = ? WHERE id = 1').run(last, last);
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    } finally {
      this.replaying = false;
    }
    this.seq = last;
    this.truncate();
    this.draining = null;
    this.unsealed = false;
  }

  /**
   * Records every run of a statement that changes the database: inside a turn into the turn,
   * and outside one (a library's housekeeping) on its own line at once, if it joined the open
   * transaction; a statement run with no transaction open committed by itself already.
   */
  instrument(inBatch: () => boolean): void {
    const db = this.db;
    const prepare = db.prepare.bind(db) as (...args: unknown[]) => Statement;
    // better-sqlite3's pragma() prepares through the same method, with extra arguments.
    (db as { prepare: unknown }).prepare = (source: string, ...rest: unknown[]) => {
      const st = prepare(source, ...rest);
      if (st.readonly) return st;
      for (const m of ['run', 'get', 'all'] as const) {
        const orig = st[m] as (...a: unknown[]) => unknown;
        (st as unknown as Record<string, unknown>)[m] = (...args: unknown[]) => {
          const r = orig.apply(st, args);
          if (!this.replaying && db.inTransaction) {
            this.record(source, args);
            if (!inBatch() && !this.turnOpen) this.flushLine();
          }
          return r;
        };
      }
      return st;
    };
  }

  beginTurn(): void {
    if (!this.db.inTransaction) {
      this.db.exec('BEGIN');
      if (this.commitTimer) clearTimeout(this.commitTimer);
      const now = Date.now();
      if (!this.sealAt) this.sealAt = now + SEAL_EVERY_MS;
      this.commitTimer = setTimeout(() => this.commitTables(), COMMIT_EVERY_MS);
      this.commitTimer.unref();
    }
    this.db.exec('SAVEPOINT turn');
    this.turnOpen = true;
  }

  /** The turn's statements, in one write; then the tables' transaction commits if it is due. */
  endTurn(): void {
    if (this.runs.length) this.flushLine();
    this.db.exec('RELEASE turn');
    this.turnOpen = false;
    if (this.commitDue || this.bytes >= COMMIT_JOURNAL_BYTES) this.commitTables(this.flushDue || this.bytes >= COMMIT_JOURNAL_BYTES);
  }

  /** Undoes the open turn; true when the whole transaction was lost and the tables were brought back from the journal. */
  rollbackTurn(): boolean {
    if (this.turnOpen && !this.db.inTransaction) {
      // SQLite rolled the whole transaction back (an I/O error, a full disk): the earlier turns
      // it held, and the deferred changes not yet in the tables, are in the journal, and go
      // back into the tables from there.
      this.turnOpen = false;
      this.runs = [];
      this.newIds = null;
      this.recover();
      this.lostTransaction(true);
      return true;
    }
    if (this.turnOpen) {
      this.db.exec('ROLLBACK TO turn');
      this.db.exec('RELEASE turn');
      this.turnOpen = false;
    }
    // Statement ids first used in the discarded turn were never written: forget them.
    for (const id of Object.keys(this.newIds ?? {})) for (const [sql, n] of this.ids) if (n === Number(id)) this.ids.delete(sql);
    this.newIds = null;
    this.runs = [];
    return false;
  }

  recordDeferred(name: string, args: unknown[]): void {
    this.runs.push([name, args]);
    this.unsealed = true;
  }

  private record(source: string, args: unknown[]): void {
    let id = this.ids.get(source);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(source, id);
      (this.newIds ??= {})[id] = source;
    }
    this.runs.push([id, args.map(toJournal)]);
  }

  private flushLine(): void {
    const turn: JournalTurn = { s: ++this.seq, ...(this.newIds ? { q: this.newIds } : {}), r: this.runs };
    const line = `${JSON.stringify(turn)}\n`;
    this.newIds = null;
    this.runs = [];
    this.bytes += writeSync(this.fd, line);
    if (this.fsync) fdatasyncSync(this.fd);
  }

  /**
   * Commits the tables' transaction with the last turn it holds, and moves the deferred changes
   * on: a slice of the sealed ones is written (once all are, the old journal file is deleted),
   * or, when it is time, the current ones are sealed. With `flush`, every deferred change is
   * written now, after which the journal is not needed and is emptied.
   */
  commitTables(flush = false): void {
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.commitTimer = null;
    if (this.turnOpen) {
      this.commitDue = true; // at the end of this turn
      this.flushDue ||= flush;
      return;
    }
    this.commitDue = false;
    this.flushDue = false;
    if (!this.db.open) return;
    if (!this.db.inTransaction) {
      // Quiet: a commit only to move deferred changes on.
      if (this.draining || (this.unsealed && (flush || Date.now() >= this.sealAt)) || (flush && this.bytes > 0)) this.db.exec('BEGIN');
      else return;
    }
    let drained = false;
    this.replaying = true; // neither the state row nor the deferred changes' writes are journaled
    try {
      if (flush) {
        for (const w of this.writers) w.seal();
        for (const w of this.writers) w.drain(Infinity, this.seq);
        this.db.prepare('UPDATE journal_state SET seq = ?, deferred = ? WHERE id = 1').run(this.seq, this.seq);
      } else if (this.draining) {
        let left = 0;
        for (const w of this.writers) left += w.drain(this.draining.perCommit, this.draining.upTo);
        drained = left === 0;
        if (drained) this.db.prepare('UPDATE journal_state SET seq = ?, deferred = ? WHERE id = 1').run(this.seq, this.draining.upTo);
        else this.db.prepare('UPDATE journal_state SET seq = ? WHERE id = 1').run(this.seq);
      } else this.db.prepare('UPDATE journal_state SET seq = ? WHERE id = 1').run(this.seq);
    } finally {
      this.replaying = false;
    }
    this.db.exec('COMMIT');
    if (flush) {
      this.truncate();
      this.draining = null;
      this.unsealed = false;
      this.sealAt = 0;
      return;
    }
    if (drained) {
      rmSync(this.oldPath, { force: true });
      this.draining = null;
    } else if (!this.draining && this.unsealed && Date.now() >= this.sealAt) this.seal();
    if (this.draining || this.unsealed) {
      // Quiet from now on: the deferred changes still move on.
      this.commitTimer = setTimeout(() => this.commitTables(), this.draining ? COMMIT_EVERY_MS : Math.max(0, this.sealAt - Date.now()));
      this.commitTimer.unref();
    }
  }

  /**
   * Between turns, with the tables committed: the journal so far becomes the old file, and what
   * changed until now is set aside to be written over the next commits.
   */
  private seal(): void {
    closeSync(this.fd);
    renameSync(this.path, this.oldPath);
    this.fd = openSync(this.path, 'a+', 0o600);
    if (this.fsync) {
      // The rename and the new file survive power loss too.
      const dir = openSync(dirname(this.path), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    }
    this.ids.clear();
    this.bytes = 0;
    let n = 0;
    for (const w of this.writers) n += w.seal();
    this.draining = { upTo: this.seq, perCommit: Math.max(1, Math.ceil(n / DRAIN_COMMITS)) };
    this.unsealed = false;
    this.sealAt = Date.now() + SEAL_EVERY_MS;
  }

  /** Empties the journal once the tables hold all of it; statement ids start again. */
  private truncate(): void {
    ftruncateSync(this.fd, 0);
    if (this.fsync) fdatasyncSync(this.fd);
    rmSync(this.oldPath, { force: true });
    this.ids.clear();
    this.bytes = 0;
  }

  close(): void {
    this.commitTables(true);
    closeSync(this.fd);
  }
}

/**
 * A bound argument as JSON keeps it: bytes as {"$b": base64}; undefined (bound as NULL) as
 * null, which JSON would drop from named parameters. An argument is a value, an array of
 * values (positional) or an object of them (named).
 */
function toJournal(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $b: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.some((x) => x === undefined || x instanceof Uint8Array) ? v.map((x) => (x === undefined ? null : toJournal(x))) : v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = x === undefined ? null : x instanceof Uint8Array ? toJournal(x) : x;
  return out;
}

function fromJournal(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  const bytes = (x: unknown) => (x !== null && typeof x === 'object' && typeof (x as { $b?: unknown }).$b === 'string' ? Buffer.from((x as { $b: string }).$b, 'base64') : x);
  if ('$b' in v) return bytes(v);
  if (Array.isArray(v)) return v.map(bytes);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = bytes(x);
  return out;
}
