import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest, onSendHookHandler, preHandlerHookHandler } from 'fastify';
import { canonicalJson } from '../canonical-json.js';
import type { IdempotencyKeys } from '../store/ports.js';
import type { Clock } from '../types.js';
import { ApiKeys, sha256 } from './auth.js';
import { sendError } from './errors.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Set on an answer that repeats the first one. */
export const REPLAYED_HEADER = 'idempotent-replayed';
/** A key: 1 to 255 visible ASCII characters (a UUID is the usual choice). */
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;
/** How long a first answer is kept for retries. */
export const KEEP_MS = 24 * 3_600_000;
/** How long a claim lives without an answer: past it, a retry runs again (the holder died). */
const CLAIM_MS = 120_000;
/** How long a retry waits for the request that holds its key before it answers IDEMPOTENCY_KEY_IN_USE. */
const WAIT_MS = 10_000;
/** How often a retry looks again while a request on another instance holds its key. */
const POLL_MS = 25;

interface Held {
  key: string;
  fingerprint: string;
  done: () => void;
}

export interface IdempotentRoute {
  preHandler: preHandlerHookHandler;
  onSend: onSendHookHandler;
}

/** The store key: per API key (its digest), so two clients never see each other's answers. */
function scopedKey(req: FastifyRequest, key: string): string {
  const bearer = ApiKeys.bearer(req.headers.authorization) ?? '';
  return `${sha256(bearer).toString('base64url').slice(0, 22)}:${key}`;
}

/** What makes two requests the same: method, path (with its ids) and body, whatever its key order. */
function fingerprintOf(req: FastifyRequest): string {
  return sha256(`${req.method} ${req.url}\n${canonicalJson(req.body ?? null)}`).toString('base64url');
}

/**
 * Safe retries for the POST routes that act (decide, count a failure, send a code): with an
 * `Idempotency-Key` header, the first request runs and its answer (2xx) is kept for 24 h;
 * a retry with the same key and request gets that answer again and does nothing; the same key
 * with another request is refused (422). A retry arriving while the first request runs waits
 * for its answer. A request that fails keeps nothing, so its retry runs. The hooks go on each
 * such route, after authentication and validation.
 */
export function idempotentRoute(keys: IdempotencyKeys, clock: Clock): IdempotentRoute {
  const held = new WeakMap<FastifyRequest, Held>();
  // Requests holding a key on this instance: a retry here waits for it instead of polling the store.
  const running = new Map<string, Promise<void>>();

  /** Claims the key, waiting for a request that holds it; or answers (the first answer again, or a refusal). */
  const claim = async (req: FastifyRequest, reply: FastifyReply, header: string | string[]) => {
    if (typeof header !== 'string' || !KEY_FORMAT.test(header)) return sendError(reply, 'INVALID_REQUEST', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
    const key = scopedKey(req, header);
    const fingerprint = fingerprintOf(req);
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const c = await keys.claim(key, fingerprint, clock(), CLAIM_MS);
      if (c.state === 'claimed') {
        let done!: () => void;
        running.set(key, new Promise<void>((resolve) => (done = resolve)));
        held.set(req, { key, fingerprint, done });
        return;
      }
      if (c.fingerprint !== fingerprint) {
        return sendError(reply, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with another request (path or body) in the last 24 hours; nothing was done. Use a new key for a new request');
      }
      if (c.state === 'done') return reply.code(c.answer.status).header(REPLAYED_HEADER, 'true').type('application/json; charset=utf-8').send(c.answer.body);
      if (Date.now() >= deadline) return sendError(reply, 'IDEMPOTENCY_KEY_IN_USE', `a request with this Idempotency-Key is still running after ${WAIT_MS / 1000} s; retry with the same key later`);
      await (running.get(key) ?? sleep(POLL_MS));
    }
  };

  // Callback hooks, not async ones: a request without the header (most) costs no promise.
  const preHandler: preHandlerHookHandler = (req, reply, done) => {
    const header = req.headers[IDEMPOTENCY_HEADER];
    if (header === undefined) return done();
    claim(req, reply, header).then(() => done(), done);
  };

  const onSend: onSendHookHandler = (req, reply, payload, done) => {
    const h = held.get(req);
    if (!h) return done(null, payload);
    held.delete(req);
    void settle(req, reply, h, payload).then(() => done(null, payload));
  };

  /** Keeps the answer for retries, or lets the key go; never rejects. */
  const settle = async (req: FastifyRequest, reply: FastifyReply, h: Held, payload: unknown) => {
    try {
      // Kept before the answer leaves: an answer the client got is an answer its retry gets.
      if (reply.statusCode < 300 && typeof payload === 'string') await keys.complete(h.key, h.fingerprint, { status: reply.statusCode, body: payload }, clock(), KEEP_MS);
      else await keys.release(h.key, h.fingerprint);
    } catch (err) {
      req.log.warn({ err }, 'idempotency key not recorded: a retry with it would run again');
    } finally {
      running.delete(h.key);
      h.done();
    }
  };

  return { preHandler, onSend };
}
