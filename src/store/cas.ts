import { setTimeout as sleep } from 'node:timers/promises';

/** Compare-and-set writes retry on conflicts; this many means a user (or a challenge) is hammered absurdly often. */
const MAX_CAS_ATTEMPTS = 100;

/**
 * Runs a read-compute-write round (profiles, challenge attempts) until it applies (1) or
 * finds nothing to do (-1); 0 is a conflict: another instance wrote in between. The networked
 * stores (Redis, PostgreSQL) compute the new state in JavaScript, the same code as SQLite,
 * and write it only if what they read is unchanged (a script on Redis, a conditional UPDATE on
 * PostgreSQL). On Redis a script rather than WATCH/MULTI because WATCH belongs to a
 * connection, and ioredis multiplexes all of an instance's requests over one connection: one
 * request's EXEC would end another's WATCH.
 */
export async function compareAndSet(round: () => Promise<unknown>): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const result = await round();
    if (result === 1) return true;
    if (result === -1) return false;
    if (attempt >= MAX_CAS_ATTEMPTS) throw new Error(`update lost ${attempt} races in a row`);
    // Read again after a short random pause, so that many logins of one user at once do not retry in lockstep.
    await sleep(Math.random() * Math.min(attempt, 10));
  }
}
