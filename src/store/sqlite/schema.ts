import type Database from 'better-sqlite3';

/** The schema, one step per version (`PRAGMA user_version`); a step is never changed once released. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE profiles (user_id TEXT PRIMARY KEY, doc TEXT NOT NULL, updated INTEGER NOT NULL);
   CREATE TABLE audit (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     time INTEGER NOT NULL, kind TEXT NOT NULL, ref TEXT, user_id TEXT, ip TEXT,
     action TEXT, score REAL, rules TEXT NOT NULL, rules_version TEXT, detail TEXT,
     -- decisions only: NULL until the login taught the profile, then {"previousLast":...} to unlearn it
     learned TEXT);
   CREATE INDEX audit_time ON audit(time);
   CREATE INDEX audit_user ON audit(user_id, time);
   CREATE INDEX audit_ref ON audit(ref);
   CREATE TABLE rlf_counters (key TEXT PRIMARY KEY, points INTEGER NOT NULL DEFAULT 0, expire INTEGER);
   CREATE INDEX rlf_counters_expire ON rlf_counters(expire);`,
  // Step-up challenges and second factors. No column holds a code, secret or token in clear.
  `CREATE TABLE challenges (
     id TEXT PRIMARY KEY, decision_id TEXT NOT NULL, user_id TEXT NOT NULL, ip TEXT NOT NULL, device_id TEXT,
     channel TEXT NOT NULL, destination TEXT, phone TEXT, email TEXT, provider TEXT, provider_ref TEXT, code_hash TEXT,
     status TEXT NOT NULL, attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, sends INTEGER NOT NULL,
     created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, verified_at INTEGER);
   CREATE INDEX challenges_expires ON challenges(expires_at);
   CREATE INDEX challenges_pending ON challenges(status, expires_at);
   CREATE TABLE totp (user_id TEXT PRIMARY KEY, secret_enc TEXT NOT NULL, confirmed INTEGER NOT NULL, last_step INTEGER NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE recovery_codes (user_id TEXT NOT NULL, hash TEXT NOT NULL, created_at INTEGER NOT NULL, used_at INTEGER, PRIMARY KEY (user_id, hash)) WITHOUT ROWID;
   CREATE TABLE trusted_devices (
     id TEXT PRIMARY KEY, user_id TEXT NOT NULL, device_id TEXT NOT NULL, label TEXT NOT NULL, ip TEXT NOT NULL,
     created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE INDEX trusted_devices_user ON trusted_devices(user_id);
   CREATE INDEX trusted_devices_expires ON trusted_devices(expires_at);`,
  // Failed passwords (src/signals/attempts.ts): per subject and 5-minute bucket, and each
  // user's latest failure per address. Kept a day, on the injected clock.
  `CREATE TABLE failures (subject TEXT NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (subject, bucket)) WITHOUT ROWID;
   CREATE INDEX failures_bucket ON failures(bucket);
   CREATE TABLE failure_users (ip TEXT NOT NULL, user_id TEXT NOT NULL, last INTEGER NOT NULL, PRIMARY KEY (ip, user_id)) WITHOUT ROWID;
   CREATE INDEX failure_users_last ON failure_users(last);
   CREATE INDEX failure_users_ip_last ON failure_users(ip, last);`,
  // Idempotency keys: a claim (status NULL) or the first answer, until `expires` (injected clock).
  `CREATE TABLE idempotency (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status INTEGER, body TEXT, expires INTEGER NOT NULL) WITHOUT ROWID;
   CREATE INDEX idempotency_expires ON idempotency(expires);`,
  // Passkeys (public keys only) and the registration challenges handed to browsers, until they expire.
  `CREATE TABLE passkeys (
     id TEXT PRIMARY KEY, user_id TEXT NOT NULL, credential_id TEXT NOT NULL UNIQUE, public_key TEXT NOT NULL,
     counter INTEGER NOT NULL, transports TEXT NOT NULL, label TEXT NOT NULL, created_at INTEGER NOT NULL, last_used_at INTEGER) WITHOUT ROWID;
   CREATE INDEX passkeys_user ON passkeys(user_id, created_at);
   CREATE TABLE passkey_registrations (user_id TEXT NOT NULL, challenge TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (user_id, challenge)) WITHOUT ROWID;
   CREATE INDEX passkey_registrations_expires ON passkey_registrations(expires_at);`,
  // The last journal turn the tables hold (db.ts: the turns after it are run again at start).
  `CREATE TABLE journal_state (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
   INSERT INTO journal_state (id, seq) VALUES (1, 0);`,
  // A passkey seen cloned (its signature counter went backwards) answers no challenge again.
  `ALTER TABLE passkeys ADD COLUMN cloned_at INTEGER;`,
  // The last journal turn whose deferred changes (profiles) the tables hold (db.ts).
  `ALTER TABLE journal_state ADD COLUMN deferred INTEGER NOT NULL DEFAULT 0;
   UPDATE journal_state SET deferred = seq;`,
  // Failed passwords (kind 0) and wrong second-factor codes (kind 1) as they came, in order
  // (failures.ts): the counts of the last day are rebuilt from them at start. Each is appended
  // at the end of the table and of its time index, so a failure dirties a page or two where
  // the per-subject rows of step 3 dirtied a dozen. Step 3's tables are only read and emptied.
  `CREATE TABLE failure_events (time INTEGER NOT NULL, kind INTEGER NOT NULL, user_id TEXT NOT NULL, ip TEXT, device_id TEXT);
   CREATE INDEX failure_events_time ON failure_events(time);`,
  // The last journal turn whose changes a profile's row holds: what the journal runs again at start comes after it.
  `ALTER TABLE profiles ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;`,
];

/** Brings the file to the current schema in one transaction; refuses a newer one. */
export function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) throw new Error(`database schema version ${version} is newer than this riskgate (${MIGRATIONS.length})`);
  if (version === MIGRATIONS.length) return;
  db.transaction(() => {
    for (const step of MIGRATIONS.slice(version)) db.exec(step);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
}
