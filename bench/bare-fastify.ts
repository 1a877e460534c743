/**
 * The ceiling: a bare Fastify app with one POST JSON route (schema-validated body, JSON
 * answer), in its own process. Prints "ready <url>" once listening.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post(
  '/v1/decisions',
  { schema: { body: { type: 'object', required: ['userId', 'ip'], properties: { userId: { type: 'string' }, ip: { type: 'string' }, userAgent: { type: 'string' }, deviceId: { type: 'string' } } } } },
  async (req) => ({ decisionId: 'x', action: 'allow', score: 0, reasons: [], echo: (req.body as { userId: string }).userId }),
);
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`ready ${url}\n`);
