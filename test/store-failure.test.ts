import { afterEach, describe, expect, it } from 'vitest';
import type { Deadline, StoreEvent } from '../src/store/guard.js';
import { Metrics } from '../src/observability/metrics.js';
import type { Backend } from '../src/store/ports.js';
import { SqliteBackend } from '../src/store/sqlite/backend.js';
import type { StoreFailMode } from '../src/types.js';
import { AUTH, IP, UA, decide, fail, habit, makeApp, type TestApp } from './helpers.js';

/**
 * The engine's fail mode, on a store that fails on command: no Redis needed, so this runs
 * everywhere. test/redis.failure.test.ts does the same with a Redis that really goes away.
 */
type Failure = 'up' | 'error' | 'hang';

/**
 * The guard's deadlines, passed by the test instead of a timer: once a call hangs, every
 * deadline armed by then (the calls issued with it included) passes at once, as the timer
 * would later. `waits` counts those moments: how many timeouts a request would have waited
 * for, one after another.
 */
function deadlines(): { deadline: Deadline; hung(): void; waits: number } {
  const armed = new Set<() => void>();
  let due = false;
  return {
    waits: 0,
    deadline: (_ms, expire) => {
      armed.add(expire);
      return () => armed.delete(expire);
    },
    hung() {
      if (due) return;
      due = true;
      queueMicrotask(() => {
        due = false;
        if (armed.size === 0) return;
        this.waits++;
        for (const expire of [...armed]) expire();
      });
    },
  };
}

/** An in-memory SQLite backend whose ports' calls ("profiles.get"...) fail or hang while told to. */
function flaky(onHang: () => void): { store: Backend; set(f: Failure, only?: readonly string[]): void } {
  let failure: Failure = 'up';
  let only: readonly string[] | undefined;
  const inner = new SqliteBackend({ path: ':memory:' });
  const gate = <T>(name: string, call: () => Promise<T>): Promise<T> => {
    if (failure === 'up' || (only && !only.includes(name))) return call();
    if (failure === 'error') return Promise.reject(new Error('connect ECONNREFUSED 10.1.2.3:6379'));
    onHang();
    return new Promise<T>(() => undefined);
  };
  // Calls from the port to itself are made on the port, not through the gate.
  const wrap = <T extends object>(port: T, name: string): T =>
    new Proxy(port, {
      get(t, prop, receiver) {
        const value: unknown = Reflect.get(t, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => gate(`${name}.${String(prop)}`, async () => (value as (...a: unknown[]) => unknown).apply(t, args));
      },
    });
  const store: Backend = {
    kind: inner.kind,
    profiles: wrap(inner.profiles, 'profiles'),
    decisions: wrap(inner.decisions, 'decisions'),
    audit: wrap(inner.audit, 'audit'),
    failures: wrap(inner.failures, 'failures'),
    logins: wrap(inner.logins, 'logins'),
    limits: wrap(inner.limits, 'limits'),
    challenges: wrap(inner.challenges, 'challenges'),
    passkeys: wrap(inner.passkeys, 'passkeys'),
    idempotency: wrap(inner.idempotency, 'idempotency'),
    // Pruning and closing always work.
    prune: (before) => inner.prune(before),
    close: () => inner.close(),
  };
  return {
    store,
    set(f, o) {
      failure = f;
      only = o;
    },
  };
}

const home = { userId: 'alice', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-alice-pc' };
const rules = (r: { rule: string }[]) => r.map((x) => x.rule);

describe('when the store fails', () => {
  let t: TestApp;
  let events: StoreEvent[];
  let store: ReturnType<typeof flaky>;
  let metrics: Metrics;
  let timeouts: ReturnType<typeof deadlines>;
  async function start(policy: { mode: StoreFailMode; timeoutMs: number } | undefined) {
    timeouts = deadlines();
    store = flaky(() => timeouts.hung());
    events = [];
    metrics = new Metrics(false);
    const onEvent = (e: StoreEvent) => {
      events.push(e);
      metrics.store(e);
    };
    t = await makeApp({ store: store.store, storeFailure: policy && { ...policy, onEvent, deadline: timeouts.deadline }, metrics });
    await habit(t, home, 5);
  }
  afterEach(() => t.close());

  it('fail-closed: decides without history and asks for at least a challenge, saying why', async () => {
    await start({ mode: 'closed', timeoutMs: 1000 });
    store.set('error');
    const r = await decide(t, home);
    expect(r.status).toBe(200);
    expect(r.body.action).toBe('challenge');
    expect(r.body.reasons).toEqual([
      { rule: 'user.first_login', points: 0, message: expect.any(String) },
      { rule: 'riskgate.store_unavailable', points: 0, message: 'state store unreachable or failing: decided without history (fail-closed: at least a challenge)' },
    ]);
    // No store detail (addresses) reaches the caller.
    expect(JSON.stringify(r.body)).not.toContain('10.1.2.3');
    // A deny list needs no history: it still blocks.
    expect((await decide(t, { ...home, ip: '192.0.2.7' })).body.action).toBe('block');
    expect(await metrics.registry.getSingleMetricAsString('riskgate_store_fallbacks_total')).toContain('riskgate_store_fallbacks_total{endpoint="decisions",mode="closed"} 2');
  });

  it('fail-open: decides without history and lets the rules alone speak', async () => {
    await start({ mode: 'open', timeoutMs: 1000 });
    // Reads fail, writes work: as on Redis, where the audit trail is local.
    store.set('error', ['logins.read']);
    const r = await decide(t, home);
    expect(r.body.action).toBe('allow');
    expect(r.body.reasons.at(-1)).toEqual({ rule: 'riskgate.store_unavailable', points: 0, message: 'state store unreachable or failing: decided without history (fail-open)' });
    expect((await decide(t, { ...home, ip: '192.0.2.7' })).body.action).toBe('block');
    // The decision is recorded with its reason, and taught nothing: it was not judged against the history.
    store.set('up');
    const [audited] = await t.store.audit.query({ ref: r.body.decisionId });
    expect(audited!.rules).toContain('riskgate.store_unavailable');
    expect((await t.store.profiles.get('alice'))!.logins).toBe(5);
  });

  it('bounds a store that does not answer by the timeout', async () => {
    await start({ mode: 'closed', timeoutMs: 30 });
    store.set('hang');
    const r = await decide(t, home);
    expect(r.body.action).toBe('challenge');
    expect(r.body.reasons.at(-1).message).toBe('state store did not answer within 30 ms: decided without history (fail-closed: at least a challenge)');
    // Each call has its deadline, but the calls of a step run together: the decision waits for
    // one timeout for its reads (profile and failure counts, one call), one for its record and
    // one for the challenge's first read, not one per call.
    expect(timeouts.waits).toBe(3);
    expect(r.body.challenge).toBeUndefined();
    expect(await metrics.registry.getSingleMetricAsString('riskgate_store_errors_total')).toContain('riskgate_store_errors_total{kind="timeout"} 3');
  });

  it('keeps an answer made with history when only recording it fails, and says so', async () => {
    await start({ mode: 'closed', timeoutMs: 1000 });
    store.set('error', ['decisions.save']);
    const r = await decide(t, home);
    expect(r.body.action).toBe('allow');
    expect(rules(r.body.reasons)).toEqual(['riskgate.store_unavailable']);
    expect(r.body.reasons[0].message).toBe('state store unreachable or failing: this decision may not have been recorded, so feedback on it may not be found');
  });

  it('answers a failed password without counting it, and says so', async () => {
    await start({ mode: 'open', timeoutMs: 1000 });
    store.set('error', ['failures.add', 'failures.counts']);
    const f = await fail(t, { userId: 'alice', ip: IP.germany });
    expect(f.status).toBe(200);
    expect(f.body).toMatchObject({ blocked: false, user_30m: 0 });
    expect(f.body.reasons.at(-1).message).toBe('state store unreachable or failing: this failure may not have been counted; decided without history (fail-open)');
  });

  it('answers feedback with 503 UNAVAILABLE, which the service can send again', async () => {
    await start({ mode: 'closed', timeoutMs: 1000 });
    const d = await decide(t, { ...home, ip: IP.brazil, deviceId: 'd-new' });
    store.set('error');
    const res = await t.app.inject({ method: 'POST', url: `/v1/decisions/${d.body.decisionId}/feedback`, headers: AUTH, payload: { outcome: 'passed_challenge' } });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ error: { code: 'UNAVAILABLE', message: 'state store unreachable or failing; try again', requestId: expect.any(String) } });
    store.set('up');
    const again = await t.app.inject({ method: 'POST', url: `/v1/decisions/${d.body.decisionId}/feedback`, headers: AUTH, payload: { outcome: 'passed_challenge' } });
    expect(again.json()).toMatchObject({ learned: true });
  });

  it('reports the outage once, and the recovery once; then decides with history again', async () => {
    await start({ mode: 'closed', timeoutMs: 1000 });
    store.set('error');
    await decide(t, home);
    await decide(t, home);
    store.set('up');
    const r = await decide(t, home);
    expect(r.body).toMatchObject({ action: 'allow', reasons: [] });
    await decide(t, home);
    expect(events.map((e) => (e.type === 'failed' ? `failed${e.first ? ' (first)' : ''}` : e.type))).toEqual([
      'failed (first)', // the first decision's reads (profile and failure counts, one call)
      'failed', // its record
      'failed', // the challenge it asks for cannot be issued either (the service goes through the same guard)
      'failed',
      'failed',
      'failed',
      'recovered',
    ]);
    expect(await metrics.registry.getSingleMetricAsString('riskgate_store_up')).toContain('riskgate_store_up 1');
  });

  it('without a policy (rule tests, replay) lets the error through', async () => {
    await start(undefined);
    store.set('error');
    const r = await decide(t, home);
    expect(r.status).toBe(500);
    expect(r.body.error.code).toBe('INTERNAL');
  });
});
