/**
 * riskgate's server as `riskgate serve` runs it (default rules), in its own process, on a data
 * directory (and key prefix) that bench/workload.ts warmed up. Prints "ready <url>".
 *
 *   node riskgate-server.js DATA_DIR sqlite|redis|postgres [DATABASE_URL]
 *
 * redis: REDIS_URL (default 127.0.0.1:6379) under the prefix in DATA_DIR/riskgate.yaml,
 * whose keys are deleted when the process is stopped. postgres: the database at DATABASE_URL
 * (bench/run.ts makes it, and drops it afterwards).
 */
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { deleteKeysUnder } from '../test/redis-keys.js';

const [dir, kind, databaseUrl] = process.argv.slice(2) as [string, 'sqlite' | 'redis' | 'postgres', string?];
const env: NodeJS.ProcessEnv = { ...process.env, RISKGATE_API_KEYS: 'bench-key', RISKGATE_SECRET: process.env.RISKGATE_SECRET || 'be'.repeat(32) };
delete env.REDIS_URL;
delete env.DATABASE_URL;
if (kind === 'postgres') env.DATABASE_URL = databaseUrl;
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
if (kind === 'redis') env.REDIS_URL = redisUrl;
const config = loadConfig({ config: join(dir, 'riskgate.yaml'), data: dir, rules: 'rules', port: '0' });
const server = await startServer({ config, env, logger: createLogger('warn'), announce: () => {} });
process.stdout.write(`ready ${server.url}\n`);

// Exit cleanly on SIGTERM so that `node --cpu-prof` can write its profile; say where the memory is.
process.on('SIGTERM', () => {
  const m = process.memoryUsage();
  const mb = (n: number) => `${Math.round(n / 2 ** 20)} MB`;
  process.stderr.write(`riskgate-server (${kind}) at the end: rss ${mb(m.rss)}, V8 heap used ${mb(m.heapUsed)} of ${mb(m.heapTotal)}, outside the heap ${mb(m.external)} (array buffers ${mb(m.arrayBuffers)})\n`);
  void server.close().then(() => (kind === 'redis' ? deleteKeysUnder(redisUrl, config.store.redis.keyPrefix) : undefined)).then(() => process.exit(0));
});
