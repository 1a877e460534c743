import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { StoreUnavailableError } from '../store/guard.js';
import { InputError, RefusedError, statusOf, type ErrorCode } from '../errors.js';

export const BODY_LIMIT = 64 * 1024;

export const REQUEST_ID_HEADER = 'x-request-id';
/** A request id a client may choose: 1 to 128 of these characters (a UUID, a trace id, "checkout-42:1"). */
const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's x-request-id when well formed (so its logs and ours share it), else a new UUID. */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && WELL_FORMED_ID.test(header) ? header : randomUUID();
}

/**
 * The API's one error shape, `{error:{code,message,requestId}}`, with the status of its code.
 * The header is set here too: router errors are answered before any hook runs.
 */
export function sendError(reply: FastifyReply, code: ErrorCode, message: string, details?: string[]) {
  const requestId = reply.request.id;
  return reply
    .code(statusOf(code))
    .header(REQUEST_ID_HEADER, requestId)
    .send({ error: { code, message, ...(details ? { details } : {}), requestId } });
}

/** Fastify's own errors and ours in the API's shape: a 4xx for the caller's mistakes, never a stack trace. */
export function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof InputError || err instanceof RefusedError) return sendError(reply, err.code, err.message);
  if (err instanceof StoreUnavailableError) return sendError(reply, 'UNAVAILABLE', `${err.message}; try again`);
  if (err.validation) return sendError(reply, 'INVALID_REQUEST', err.message);
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendError(reply, 'BODY_TOO_LARGE', `body larger than ${BODY_LIMIT} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendError(reply, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return sendError(reply, 'INVALID_JSON', 'the body is not valid JSON');
  }
  if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) return sendError(reply, 'INVALID_JSON', 'the body is not valid JSON');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return sendError(reply, 'INVALID_REQUEST', err.message);
  req.log.error({ err }, 'request failed');
  return sendError(reply, 'INTERNAL', `internal error; the server log has the details under requestId ${req.id}`);
}
