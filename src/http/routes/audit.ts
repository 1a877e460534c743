import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuditLog } from '../../store/ports.js';
import { AuditQuery, AuditResponse, ERROR_RESPONSES, security } from '../schemas.js';

export interface AuditRoutesOptions {
  /** Where the audit trail is read. */
  audit: Pick<AuditLog, 'query'>;
}

/** The audit trail, by user, kind, reference and time. */
export const auditRoutes: FastifyPluginAsyncTypebox<AuditRoutesOptions> = async (app, { audit }) => {
  app.get('/audit', { config: { scope: 'admin' }, schema: { tags: ['audit'], summary: 'Query the audit trail', security, querystring: AuditQuery, response: { 200: AuditResponse, ...ERROR_RESPONSES } } }, async (req) => {
    const q = req.query;
    const entries = await audit.query({
      userId: q.userId,
      kind: q.kind,
      ref: q.ref,
      since: q.since ? Date.parse(q.since) : undefined,
      until: q.until ? Date.parse(q.until) : undefined,
      limit: q.limit === undefined ? undefined : Number(q.limit),
    });
    return { entries: entries.map((e) => ({ ...e, time: new Date(e.time).toISOString() })) };
  });
};
