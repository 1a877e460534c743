import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RuleHolder } from '../../rules/holder.js';
import type { Clock } from '../../types.js';
import { sendError } from '../errors.js';
import { ErrorBody, ReloadResponse, RulesResponse, security } from '../schemas.js';

export interface RulesRoutesOptions {
  rules: RuleHolder;
  /** When the rule set with this hash was first made active (trackLoadTimes). */
  loadedAt: (hash: string) => string;
}

/**
 * When each rule set was first made active, from now on: the one active now, and each that a
 * reload brings. Started when the app is built, not when its routes are first served.
 */
export function trackLoadTimes(rules: RuleHolder, clock: Clock): (hash: string) => string {
  const loadedAt = new Map<string, string>([[rules.current().hash, new Date(clock()).toISOString()]]);
  rules.onReload((r) => {
    if (r.ok) {
      const h = rules.current().hash;
      if (!loadedAt.has(h)) loadedAt.set(h, new Date(clock()).toISOString());
    }
  });
  return (hash) => loadedAt.get(hash) ?? '';
}

/** The active rule set, and the reload an operator asks for (as SIGHUP does). */
export const rulesRoutes: FastifyPluginAsyncTypebox<RulesRoutesOptions> = async (app, { rules, loadedAt }) => {
  app.get('/rules', { config: { scope: 'admin' }, schema: { tags: ['rules'], summary: 'The active rule set', security, response: { 200: RulesResponse, 401: ErrorBody, 403: ErrorBody } } }, async () => {
    const rs = rules.current();
    return {
      version: rs.version,
      label: rs.label,
      hash: rs.hash,
      loadedAt: loadedAt(rs.hash),
      thresholds: rs.thresholds,
      severities: rs.severities,
      rules: rs.rules.map((r) => ({ id: r.id, description: r.description, severity: r.severity, points: r.points, action: r.force, shadow: r.shadow, standalone: r.standalone })),
      lists: rs.lists.map((l) => ({ name: l.name, match: l.match, size: l.size })),
    };
  });

  app.post(
    '/admin/rules/reload',
    { config: { scope: 'admin' }, schema: { tags: ['rules'], summary: 'Reload the rule files; a broken set is refused', security, response: { 200: ReloadResponse, 401: ErrorBody, 403: ErrorBody, 422: ErrorBody } } },
    async (req, reply) => {
      const r = await rules.reload();
      if (!r.ok) {
        req.log.warn({ problems: r.diagnostics.length }, 'rules reload refused; previous rules stay active');
        return sendError(reply, 'RULES_INVALID', `rules refused, ${r.diagnostics.length} problem(s); version ${rules.current().version} stays active`, r.message.split('\n').slice(1));
      }
      req.log.info({ version: r.version, changes: r.changes }, 'rules reloaded');
      return { status: 'reloaded' as const, version: r.version, previous: r.previous, changed: r.changed, changes: r.changes };
    },
  );
};
