import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { failureBucket } from '../src/signals/attempts.js';
import { SqliteBackend } from '../src/store/sqlite/backend.js';
import { DAY, HOUR, MINUTE } from './helpers.js';

const T0 = Date.parse('2026-03-02T00:00:00Z');
const dirs: string[] = [];
function dbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'riskgate-failures-'));
  dirs.push(dir);
  return join(dir, 'riskgate.db');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("the SQLite store's failures on file: one appended row each, counted again at start", () => {
  it('keeps one row per failed password and wrong code, and counts the same after a restart', async () => {
    const path = dbPath();
    const store = new SqliteBackend({ path });
    for (let i = 0; i < 5; i++) await store.failures.add({ userId: 'alice', ip: '5.9.0.1', deviceId: 'd1' }, T0 + i * MINUTE);
    await store.failures.add({ userId: 'bob', ip: '5.9.0.2' }, T0 + 5 * MINUTE);
    await store.failures.addWrongCode('alice', T0 + 6 * MINUTE);
    const before = await store.failures.counts({ userId: 'alice', ip: '5.9.0.1', deviceId: 'd1' }, T0 + 10 * MINUTE);
    await store.close();

    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT kind, count(*) AS n FROM failure_events GROUP BY kind ORDER BY kind').all()).toEqual([
      { kind: 0, n: 6 },
      { kind: 1, n: 1 },
    ]);
    raw.close();

    const after = new SqliteBackend({ path });
    const counts = await after.failures.counts({ userId: 'alice', ip: '5.9.0.1', deviceId: 'd1' }, T0 + 10 * MINUTE);
    expect(counts).toEqual(before);
    expect(counts).toMatchObject({ user_30m: 5, ip_1h: 5, network_1h: 6, device_1h: 5, network_users_1h: 2, failed_challenges_24h: 1 });
    await after.close();
  });

  it('deletes the rows of failures older than a day as new failures come, a few at a time', async () => {
    const path = dbPath();
    const store = new SqliteBackend({ path });
    for (let i = 0; i < 300; i++) await store.failures.add({ userId: `old${i}`, ip: '5.9.0.1' }, T0 + i);
    for (let i = 0; i < 640; i++) await store.failures.add({ userId: `new${i}`, ip: '5.9.0.1' }, T0 + DAY + HOUR + i);
    await store.close();
    const raw = new Database(path, { readonly: true });
    const { n } = raw.prepare('SELECT count(*) AS n FROM failure_events WHERE time < ?').get(T0 + DAY) as { n: number };
    raw.close();
    expect(n).toBe(0);
  });

  it('still counts what an earlier version kept per subject and bucket, until it expires', async () => {
    const path = dbPath();
    await new SqliteBackend({ path }).close();
    // Rows as schema step 3 wrote them: three failures of carol from 5.9.0.1.
    const raw = new Database(path);
    const bucket = failureBucket(T0);
    const add = raw.prepare('INSERT INTO failures (subject, bucket, count) VALUES (?, ?, 3)');
    for (const subject of ['u:carol', 'i:5.9.0.1', 'n:5.9.0.0/24']) add.run(subject, bucket);
    const user = raw.prepare('INSERT INTO failure_users (ip, user_id, last) VALUES (?, ?, ?)');
    for (const place of ['5.9.0.1', '5.9.0.0/24']) user.run(place, 'carol', T0);
    raw.close();

    const store = new SqliteBackend({ path });
    await store.failures.add({ userId: 'carol', ip: '5.9.0.1' }, T0 + MINUTE);
    expect(await store.failures.counts({ userId: 'carol', ip: '5.9.0.1' }, T0 + 2 * MINUTE)).toMatchObject({ user_30m: 4, ip_1h: 4, ip_users_1h: 1 });
    await store.close();
  });
});
