/**
 * riskgate's server as `riskgate serve` runs it (default rules, a fresh data directory), in
 * its own process. Prints "ready <url>" once listening.
 *
 *   node riskgate-server.js RULES [sqlite|redis]
 *
 * sqlite (default): the embedded store, whatever REDIS_URL says. redis: REDIS_URL (default
 * 127.0.0.1:6379) under a key prefix of its own, deleted again when the process is stopped.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';

const store = process.argv[3] ?? 'sqlite';
const data = mkdtempSync(join(tmpdir(), 'riskgate-bench-'));
const env: NodeJS.ProcessEnv = { ...process.env, RISKGATE_API_KEYS: 'bench-key' };
delete env.REDIS_URL;
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const prefix = `rgbench:${process.pid}:`;
let config;
if (store === 'redis') {
  env.REDIS_URL = redisUrl;
  const file = join(data, 'riskgate.yaml');
  writeFileSync(file, `store:\n  redis:\n    keyPrefix: "${prefix}"\n`);
  config = loadConfig({ config: file, data, rules: process.argv[2] ?? 'rules', port: '0' });
} else {
  config = loadConfig({ data, rules: process.argv[2] ?? 'rules', port: '0' });
}
const server = await startServer({ config, env, logger: createLogger('warn'), announce: () => {} });
process.stdout.write(`ready ${server.url}\n`);

/** The benchmark's keys go when it does (SCAN, not KEYS: the Redis may be shared). */
async function dropKeys(): Promise<void> {
  const c = new Redis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await c.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await c.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  c.disconnect();
}

// Exit cleanly on SIGTERM so that `node --cpu-prof` can write its profile.
process.on('SIGTERM', () => void server.close().then(() => (store === 'redis' ? dropKeys() : undefined)).then(() => process.exit(0)));
