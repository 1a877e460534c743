import type pg from 'pg';

/**
 * The advisory lock that serializes schema changes (migrations, and creating or dropping day
 * partitions) among every instance on the database: "riskgate" in ASCII, as a bigint.
 */
export const SCHEMA_LOCK = '8244247498011538533';

/**
 * The schema, one step per version (recorded in riskgate_migrations); a step is never changed
 * once released: a fix is a new step. Times of the audit trail are timestamptz (an analyst's
 * SQL reads them as times); the rest holds milliseconds on riskgate's clock, as the other
 * stores do. No column holds a code, secret or token in clear.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE profiles (user_id text PRIMARY KEY, doc text NOT NULL, ver bigint NOT NULL) WITH (fillfactor = 80);

   -- The audit trail, decisions included (kind 'decision', ref = the decision id, detail = the
   -- rest of the record), by day: retention drops whole partitions (partitions.ts).
   CREATE TABLE audit (
     seq bigint GENERATED ALWAYS AS IDENTITY,
     -- the Redis stream entry it was drained from (REDIS_URL beside DATABASE_URL), so a drain repeated after a crash inserts it once
     entry text,
     time timestamptz NOT NULL, kind text NOT NULL, ref text, user_id text, ip text,
     action text, score double precision, rules jsonb NOT NULL, rules_version text, detail jsonb
   ) PARTITION BY RANGE (time);
   CREATE INDEX audit_time ON audit (time);
   CREATE INDEX audit_user ON audit (user_id, time);
   CREATE INDEX audit_ref ON audit (ref);
   CREATE UNIQUE INDEX audit_entry ON audit (entry, time) WHERE entry IS NOT NULL;

   -- What an allowed (or later passed) login taught the profile, to unlearn it on confirmed fraud;
   -- by day like the audit trail, and kept as long.
   CREATE TABLE learned (
     decision_id text NOT NULL, time timestamptz NOT NULL, user_id text NOT NULL,
     record text NOT NULL,  -- LearnedRecord JSON: the observation and the last login it displaced
     PRIMARY KEY (decision_id, time)
   ) PARTITION BY RANGE (time);

   -- Failed passwords (src/signals/attempts.ts): per subject and 5-minute bucket, and each
   -- user's latest failure per address; a day of them, on riskgate's clock.
   CREATE TABLE failures (subject text NOT NULL, bucket integer NOT NULL, count integer NOT NULL, PRIMARY KEY (subject, bucket));
   CREATE INDEX failures_bucket ON failures (bucket);
   CREATE TABLE failure_users (ip text NOT NULL, user_id text NOT NULL, last bigint NOT NULL, PRIMARY KEY (ip, user_id));
   CREATE INDEX failure_users_last ON failure_users (last);

   -- Challenge abuse limits: rate-limiter-flexible's RateLimiterPostgres table.
   CREATE TABLE rlf_counters (key text PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint);

   CREATE TABLE challenges (
     id text PRIMARY KEY, decision_id text NOT NULL, user_id text NOT NULL, ip text NOT NULL, device_id text,
     channel text NOT NULL, destination text, phone text, email text, provider text, provider_ref text, code_hash text,
     status text NOT NULL, attempts integer NOT NULL, max_attempts integer NOT NULL, sends integer NOT NULL,
     created_at bigint NOT NULL, expires_at bigint NOT NULL, verified_at bigint,
     ver integer NOT NULL DEFAULT 0  -- bumped by every change: verify attempts are compare-and-set on it
   );
   CREATE INDEX challenges_expires ON challenges (expires_at);
   CREATE INDEX challenges_pending ON challenges (expires_at) WHERE status = 'pending';
   CREATE TABLE totp (user_id text PRIMARY KEY, secret_enc text NOT NULL, confirmed boolean NOT NULL, last_step bigint NOT NULL, created_at bigint NOT NULL);
   CREATE TABLE recovery_codes (user_id text NOT NULL, hash text NOT NULL, created_at bigint NOT NULL, used_at bigint, PRIMARY KEY (user_id, hash));
   CREATE TABLE trusted_devices (
     id text PRIMARY KEY, user_id text NOT NULL, device_id text NOT NULL, label text NOT NULL, ip text NOT NULL,
     created_at bigint NOT NULL, expires_at bigint NOT NULL);
   CREATE INDEX trusted_devices_user ON trusted_devices (user_id);
   CREATE INDEX trusted_devices_expires ON trusted_devices (expires_at);

   -- Learning a login: the profile written only if its version is still the one read (0: none
   -- yet), and the decision marked as taught. 1 done, 0 the profile changed meanwhile (read
   -- again). A decision that already taught fails on learned's key (23505), which undoes the
   -- whole statement: the caller answers "already taught".
   CREATE FUNCTION riskgate_learn(p_user text, p_decision text, p_time timestamptz, p_ver bigint, p_doc text, p_record text) RETURNS integer
   LANGUAGE plpgsql AS $$
   BEGIN
     IF p_ver = 0 THEN
       INSERT INTO profiles (user_id, doc, ver) VALUES (p_user, p_doc, 1) ON CONFLICT (user_id) DO NOTHING;
     ELSE
       UPDATE profiles SET doc = p_doc, ver = ver + 1 WHERE user_id = p_user AND ver = p_ver;
     END IF;
     IF NOT FOUND THEN RETURN 0; END IF;
     INSERT INTO learned (decision_id, time, user_id, record) VALUES (p_decision, p_time, p_user, p_record);
     RETURN 1;
   END $$;

   -- Unlearning: the mark removed and the profile written back (unless there is none), only if
   -- its version is unchanged. 1 done, -1 nothing to unlearn; a changed profile raises RGCAS,
   -- which undoes the statement: the caller reads again.
   CREATE FUNCTION riskgate_unlearn(p_user text, p_decision text, p_time timestamptz, p_ver bigint, p_doc text) RETURNS integer
   LANGUAGE plpgsql AS $$
   BEGIN
     DELETE FROM learned WHERE decision_id = p_decision AND time = p_time;
     IF NOT FOUND THEN RETURN -1; END IF;
     IF p_doc IS NOT NULL THEN
       UPDATE profiles SET doc = p_doc, ver = ver + 1 WHERE user_id = p_user AND ver = p_ver;
       IF NOT FOUND THEN RAISE EXCEPTION 'profile of % changed', p_user USING ERRCODE = 'RGCAS'; END IF;
     END IF;
     RETURN 1;
   END $$;

   -- A login's failure counts in one read: its subjects' buckets since p_oldest, and the
   -- address's distinct users in the last hour and day.
   CREATE FUNCTION riskgate_failure_counts(p_subjects text[], p_oldest integer, p_ip text, p_cut1h bigint, p_cut24h bigint,
     OUT subjects text[], OUT buckets integer[], OUT counts integer[], OUT users_1h integer, OUT users_24h integer)
   LANGUAGE sql STABLE AS $$
     SELECT f.subjects, f.buckets, f.counts, u.h1, u.h24 FROM
       (SELECT array_agg(subject) subjects, array_agg(bucket) buckets, array_agg(count) counts
          FROM failures WHERE subject = ANY (p_subjects) AND bucket >= p_oldest) f,
       (SELECT (count(*) FILTER (WHERE last >= p_cut1h))::integer h1, count(*)::integer h24
          FROM failure_users WHERE ip = p_ip AND last >= p_cut24h) u
   $$;

   -- Counts one failure for all its subjects, then reads the counts (which include it). The
   -- rows are locked in one order (sorted), so concurrent failures never deadlock.
   CREATE FUNCTION riskgate_failure_add(p_subjects text[], p_bucket integer, p_ip text, p_user text, p_now bigint, p_oldest integer, p_cut1h bigint, p_cut24h bigint,
     OUT subjects text[], OUT buckets integer[], OUT counts integer[], OUT users_1h integer, OUT users_24h integer)
   LANGUAGE plpgsql AS $$
   BEGIN
     INSERT INTO failures (subject, bucket, count) SELECT s, p_bucket, 1 FROM unnest(p_subjects) s ORDER BY s
       ON CONFLICT (subject, bucket) DO UPDATE SET count = failures.count + 1;
     INSERT INTO failure_users (ip, user_id, last) VALUES (p_ip, p_user, p_now)
       ON CONFLICT (ip, user_id) DO UPDATE SET last = greatest(failure_users.last, excluded.last);
     SELECT * INTO subjects, buckets, counts, users_1h, users_24h FROM riskgate_failure_counts(p_subjects, p_oldest, p_ip, p_cut1h, p_cut24h);
   END $$;`,
  // Idempotency keys: a claim (status NULL) or the first answer, until expires (riskgate's clock).
  `CREATE TABLE idempotency (key text PRIMARY KEY, fingerprint text NOT NULL, status integer, body text, expires bigint NOT NULL);
   CREATE INDEX idempotency_expires ON idempotency (expires);`,
  // Failures per network too (src/signals/attempts.ts): a login's places are its address and
  // its network (IPv4 /24, IPv6 /64), each with its distinct failing users in failure_users.
  // The functions of step 3 stay for instances not yet upgraded.
  `CREATE FUNCTION riskgate_failure_counts2(p_subjects text[], p_oldest integer, p_places text[], p_cut1h bigint, p_cut24h bigint,
     OUT subjects text[], OUT buckets integer[], OUT counts integer[], OUT users_1h integer[], OUT users_24h integer[])
   LANGUAGE sql STABLE AS $$
     SELECT f.subjects, f.buckets, f.counts, u.h1, u.h24 FROM
       (SELECT array_agg(subject) subjects, array_agg(bucket) buckets, array_agg(count) counts
          FROM failures WHERE subject = ANY (p_subjects) AND bucket >= p_oldest) f,
       (SELECT array_agg(c.h1 ORDER BY p.i) h1, array_agg(c.h24 ORDER BY p.i) h24
          FROM unnest(p_places) WITH ORDINALITY p(place, i),
          LATERAL (SELECT (count(*) FILTER (WHERE last >= p_cut1h))::integer h1, count(*)::integer h24
                     FROM failure_users WHERE ip = p.place AND last >= p_cut24h) c) u
   $$;

   CREATE FUNCTION riskgate_failure_add2(p_subjects text[], p_bucket integer, p_places text[], p_user text, p_now bigint, p_oldest integer, p_cut1h bigint, p_cut24h bigint,
     OUT subjects text[], OUT buckets integer[], OUT counts integer[], OUT users_1h integer[], OUT users_24h integer[])
   LANGUAGE plpgsql AS $$
   BEGIN
     INSERT INTO failures (subject, bucket, count) SELECT s, p_bucket, 1 FROM unnest(p_subjects) s ORDER BY s
       ON CONFLICT (subject, bucket) DO UPDATE SET count = failures.count + 1;
     INSERT INTO failure_users (ip, user_id, last) SELECT p, p_user, p_now FROM unnest(p_places) p ORDER BY p
       ON CONFLICT (ip, user_id) DO UPDATE SET last = greatest(failure_users.last, excluded.last);
     SELECT * INTO subjects, buckets, counts, users_1h, users_24h FROM riskgate_failure_counts2(p_subjects, p_oldest, p_places, p_cut1h, p_cut24h);
   END $$;`,
  // Passkeys (public keys only) and the registration challenges handed to browsers, until they expire.
  `CREATE TABLE passkeys (
     id text PRIMARY KEY, user_id text NOT NULL, credential_id text NOT NULL UNIQUE, public_key text NOT NULL,
     counter bigint NOT NULL, transports text NOT NULL, label text NOT NULL, created_at bigint NOT NULL, last_used_at bigint);
   CREATE INDEX passkeys_user ON passkeys (user_id, created_at);
   CREATE TABLE passkey_registrations (user_id text NOT NULL, challenge text NOT NULL, expires_at bigint NOT NULL, PRIMARY KEY (user_id, challenge));
   CREATE INDEX passkey_registrations_expires ON passkey_registrations (expires_at);`,
];

/** The schema version this riskgate writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database to the current schema, in one transaction under the schema lock: two
 * instances starting together run the steps once (the second waits, then finds nothing to do).
 * Refuses a database whose schema is newer than this riskgate.
 */
export async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`);
    await client.query('CREATE TABLE IF NOT EXISTS riskgate_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM riskgate_migrations');
    const version = rows[0]?.v ?? 0;
    if (version > MIGRATIONS.length) throw new Error(`the database schema is version ${version}, newer than this riskgate's (${MIGRATIONS.length}); upgrade riskgate`);
    for (let v = version + 1; v <= MIGRATIONS.length; v++) {
      await client.query(MIGRATIONS[v - 1]!);
      await client.query({ text: 'INSERT INTO riskgate_migrations (version) VALUES ($1)', values: [v] });
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}
