import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { StoreUnavailableError } from '../store/guard.js';
import { InputError, RefusedError, statusOf, type ErrorCode } from '../errors.js';

export const BODY_LIMIT = 64 * 1024;

/** The API's one error shape, `{error:{code,message}}`, with the status of its code. */
export function sendError(reply: FastifyReply, code: ErrorCode, message: string, details?: string[]) {
  return reply.code(statusOf(code)).send({ error: { code, message, ...(details ? { details } : {}) } });
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
  return sendError(reply, 'INTERNAL', 'internal error; see the server log');
}
