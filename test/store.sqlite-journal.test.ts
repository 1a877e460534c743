import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SqliteBackend } from '../src/store/sqlite/backend.js';
import type { DecisionRecord } from '../src/store/ports.js';

/**
 * The SQLite store's journal (src/store/sqlite/db.ts): what a write acknowledged is in the
 * journal before the tables commit it, so a copy of the data directory taken at that moment,
 * which is what a killed process leaves, opens with everything acknowledged.
 */
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'riskgate-journal-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The files a process killed now would leave: the database, its WAL and the journal. */
function crashCopy(from: string): string {
  const to = tempDir();
  for (const f of ['riskgate.db', 'riskgate.db-wal', 'riskgate.db-journal.jsonl', 'riskgate.db-journal.old.jsonl']) if (existsSync(join(from, f))) copyFileSync(join(from, f), join(to, f));
  return to;
}

const record = (id: string, time: number): DecisionRecord => ({
  id,
  time,
  userId: 'alice',
  ip: '192.0.2.1',
  requestAction: 'login',
  action: 'allow',
  score: 0,
  reasons: [],
  shadow: [],
  rulesVersion: 'v',
  observation: { time, deviceId: 'd1', family: 'Chrome/Windows/desktop', subnet: '192.0.2.0/24', range: '192.0.0.0/16', place: null, point: null, hour: 9 },
});

describe('SQLite journal', () => {
  it('an acknowledged write is in the journal before the tables commit it, and is there again after a crash', async () => {
    const dir = tempDir();
    const store = new SqliteBackend({ path: join(dir, 'riskgate.db') });
    await Promise.all([store.decisions.save(record('d-1', 1000)), store.failures.add({ userId: 'alice', ip: '192.0.2.1' }, 1000)]);
    await store.profiles.learn('alice', 'd-1', record('d-1', 1000).observation);
    await store.challenges.replaceRecoveryCodes('alice', ['h1', 'h2'], 1000);
    expect(await store.challenges.useRecoveryCode('alice', 'h1', 1001)).toBe(true);
    // One line per turn of writes, and the tables have not committed them yet.
    expect(readFileSync(join(dir, 'riskgate.db-journal.jsonl'), 'utf8').trim().split('\n')).toHaveLength(4);

    const copy = crashCopy(dir);
    await store.close();
    // Closed, the tables hold everything and the journal is empty.
    expect(readFileSync(join(dir, 'riskgate.db-journal.jsonl'), 'utf8')).toBe('');

    const after = new SqliteBackend({ path: join(copy, 'riskgate.db') });
    // What was run again is committed, and the journal emptied.
    expect(readFileSync(join(copy, 'riskgate.db-journal.jsonl'), 'utf8')).toBe('');
    expect(await after.decisions.get('d-1')).toMatchObject({ id: 'd-1', userId: 'alice' });
    expect((await after.failures.counts({ userId: 'alice', ip: '192.0.2.1' }, 1000)).user_24h).toBe(1);
    expect((await after.profiles.get('alice'))?.logins).toBe(1);
    expect(await after.challenges.useRecoveryCode('alice', 'h1', 1002)).toBe(false);
    expect(await after.challenges.useRecoveryCode('alice', 'h2', 1002)).toBe(true);
    await after.close();
  });

  it('runs again only what the tables had not committed: a copy taken after a commit counts each failure once', async () => {
    const dir = tempDir();
    const store = new SqliteBackend({ path: join(dir, 'riskgate.db') });
    for (let i = 0; i < 3; i++) await store.failures.add({ userId: 'bob', ip: '192.0.2.9' }, 1000 + i);
    store.checkpoint(); // as the tables' commit does every 200 ms
    expect(readFileSync(join(dir, 'riskgate.db-journal.jsonl'), 'utf8')).toBe('');
    await store.failures.add({ userId: 'bob', ip: '192.0.2.9' }, 1010);
    const copy = crashCopy(dir);
    await store.close();
    const after = new SqliteBackend({ path: join(copy, 'riskgate.db') });
    expect((await after.failures.counts({ userId: 'bob', ip: '192.0.2.9' }, 1010)).user_24h).toBe(4);
    await after.close();
  });

  it('profiles reach the table every few seconds; until then the journal has their logins, learned again once after a crash', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const dir = tempDir();
      const store = new SqliteBackend({ path: join(dir, 'riskgate.db') });
      await store.decisions.save(record('d-1', 1000));
      expect(await store.profiles.learn('alice', 'd-1', record('d-1', 1000).observation)).toBe(true);
      await store.decisions.save(record('d-2', 2000));
      expect(await store.profiles.learn('alice', 'd-2', record('d-2', 2000).observation)).toBe(true);
      vi.advanceTimersByTime(200); // the tables commit; the profile is still only in memory and the journal
      const tableLogins = () => store.db.prepare("SELECT json_extract(doc, '$.logins') AS n FROM profiles WHERE user_id = 'alice'").get() as { n: number } | undefined;
      expect(tableLogins()).toBeUndefined();
      expect((await store.profiles.get('alice'))?.logins).toBe(2);
      const journal = readFileSync(join(dir, 'riskgate.db-journal.jsonl'), 'utf8');
      expect(journal).toContain('"profile.learn"');
      expect(journal).not.toContain('INSERT INTO profiles');
      const copy = crashCopy(dir);

      // Unlearning is deferred too; it and the learns before it come back in order.
      expect(await store.profiles.unlearn('d-2')).toBe(true);
      const copy2 = crashCopy(dir);

      vi.advanceTimersByTime(2500); // sealed after 2 s, then written over the next commits; the old journal file goes
      expect(tableLogins()).toEqual({ n: 1 });
      expect(existsSync(join(dir, 'riskgate.db-journal.old.jsonl'))).toBe(false);
      await store.close();
      expect(readFileSync(join(dir, 'riskgate.db-journal.jsonl'), 'utf8')).toBe('');

      const after = new SqliteBackend({ path: join(copy, 'riskgate.db') });
      // Learned once each, although the decisions' rows were already committed.
      expect((await after.profiles.get('alice'))?.logins).toBe(2);
      expect(await after.profiles.learn('alice', 'd-1', record('d-1', 1000).observation)).toBe(false);
      await after.close();
      const after2 = new SqliteBackend({ path: join(copy2, 'riskgate.db') });
      expect((await after2.profiles.get('alice'))?.logins).toBe(1);
      expect(await after2.profiles.unlearn('d-2')).toBe(false);
      await after2.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('a crash while sealed profiles are being written learns again only those the table did not get', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const dir = tempDir();
      const store = new SqliteBackend({ path: join(dir, 'riskgate.db') });
      const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9', 'u10'];
      for (const [i, u] of users.entries()) await store.profiles.learn(u, `d-${u}`, record(`d-${u}`, 1000 + i).observation);
      vi.advanceTimersByTime(2000); // sealed: written two at a time over the next commits
      const written = () => (store.db.prepare('SELECT count(*) AS n FROM profiles').get() as { n: number }).n;
      vi.advanceTimersByTime(200);
      expect(written()).toBe(2);
      // A later login of a user already written, and of one not yet: both in the new journal file.
      await store.profiles.learn('u1', 'd-u1-2', record('d-u1-2', 3000).observation);
      await store.profiles.learn('u10', 'd-u10-2', record('d-u10-2', 3001).observation);
      expect(existsSync(join(dir, 'riskgate.db-journal.old.jsonl'))).toBe(true);
      const copy = crashCopy(dir);
      await store.close();
      const after = new SqliteBackend({ path: join(copy, 'riskgate.db') });
      for (const u of users) expect((await after.profiles.get(u))?.logins, u).toBe(u === 'u1' || u === 'u10' ? 2 : 1);
      await after.close();
      expect(existsSync(join(copy, 'riskgate.db-journal.old.jsonl'))).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it('holds at most its bound of profiles in memory: changed ones not yet written shrink the cache', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const dir = tempDir();
      const store = new SqliteBackend({ path: join(dir, 'riskgate.db'), profileCache: 30 });
      const users = Array.from({ length: 60 }, (_, i) => `u${i}`);
      // Written to the table: learned, sealed, drained.
      for (const [i, u] of users.entries()) await store.profiles.learn(u, `d-${u}`, record(`d-${u}`, 1000 + i).observation);
      vi.advanceTimersByTime(2000 + 9 * 200);
      expect((store.db.prepare('SELECT count(*) AS n FROM profiles').get() as { n: number }).n).toBe(60);
      expect(store.profiles.held).toBeLessThanOrEqual(30);
      // 20 changed (pinned until written) and 40 read: the cache keeps only what the bound leaves.
      for (const [i, u] of users.slice(0, 20).entries()) await store.profiles.learn(u, `d2-${u}`, record(`d2-${u}`, 5000 + i).observation);
      for (const u of users.slice(20)) expect((await store.profiles.get(u))?.logins).toBe(1);
      expect(store.profiles.held).toBe(30);
      // Nothing changed is lost to the bound.
      for (const u of users.slice(0, 20)) expect((await store.profiles.get(u))?.logins).toBe(2);
      await store.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('a failed batch takes back its deferred profile changes, and only its own', async () => {
    const dir = tempDir();
    const store = new SqliteBackend({ path: join(dir, 'riskgate.db') });
    await store.profiles.learn('dave', 'd-5', record('d-5', 5000).observation);
    const device = { id: 't-2', userId: 'dave', deviceId: 'd-9', label: 'laptop', ip: '192.0.2.7', createdAt: 5000, expiresAt: 9000 };
    const turn = [store.profiles.learn('dave', 'd-6', record('d-6', 6000).observation), store.challenges.addTrustedDevice(device), store.challenges.addTrustedDevice(device)];
    await expect(Promise.all(turn)).rejects.toThrow(/UNIQUE/);
    expect((await store.profiles.get('dave'))?.logins).toBe(1);
    const copy = crashCopy(dir);
    await store.close();
    const after = new SqliteBackend({ path: join(copy, 'riskgate.db') });
    expect((await after.profiles.get('dave'))?.logins).toBe(1);
    await after.close();
  });

  it('keeps what was bound as it was: undefined named parameters as NULL, bytes as bytes, arrays of positional values', async () => {
    const dir = tempDir();
    const store = new SqliteBackend({ path: join(dir, 'riskgate.db') });
    store.db.exec('CREATE TABLE scratch (a, b, c)');
    await store.decisions.save(record('d-3', 3000)); // opens the tables' transaction: the rows below join it and the journal
    store.db.prepare('INSERT INTO scratch VALUES (@a, @b, @c)').run({ a: 1, b: undefined, c: Buffer.from([1, 2, 3]) });
    store.db.prepare('INSERT INTO scratch VALUES (?, ?, ?)').run([2, undefined, Buffer.from([4])]);
    const copy = crashCopy(dir);
    await store.close();
    const after = new SqliteBackend({ path: join(copy, 'riskgate.db') });
    expect(after.db.prepare('SELECT * FROM scratch ORDER BY a').all()).toEqual([
      { a: 1, b: null, c: Buffer.from([1, 2, 3]) },
      { a: 2, b: null, c: Buffer.from([4]) },
    ]);
    await after.close();
  });

  it('a failed turn is undone alone: earlier acknowledged turns stay, in the tables and after a crash', async () => {
    const dir = tempDir();
    const store = new SqliteBackend({ path: join(dir, 'riskgate.db') });
    await store.decisions.save(record('d-2', 2000));
    // A turn whose second write fails (the same primary key twice): the whole turn is undone, and only it.
    const device = { id: 't-1', userId: 'carol', deviceId: 'd-9', label: 'laptop', ip: '192.0.2.7', createdAt: 2000, expiresAt: 9000 };
    const turn = [store.challenges.addTrustedDevice(device), store.challenges.addTrustedDevice(device)];
    await expect(Promise.all(turn)).rejects.toThrow(/UNIQUE/);
    expect(await store.challenges.listTrustedDevices('carol', 2000)).toEqual([]);
    expect(await store.decisions.get('d-2')).toMatchObject({ id: 'd-2' });
    const copy = crashCopy(dir);
    await store.close();
    const after = new SqliteBackend({ path: join(copy, 'riskgate.db') });
    expect(await after.decisions.get('d-2')).toMatchObject({ id: 'd-2' });
    expect(await after.challenges.listTrustedDevices('carol', 2000)).toEqual([]);
    await after.close();
  });
});
