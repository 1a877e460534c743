/**
 * riskgate's server as `riskgate serve` runs it (default rules, SQLite store in a fresh data
 * directory), in its own process. Prints "ready <url>" once listening.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';

const data = mkdtempSync(join(tmpdir(), 'riskgate-bench-'));
const server = await startServer({
  config: loadConfig({ data, rules: process.argv[2] ?? 'rules', port: '0' }),
  env: { ...process.env, RISKGATE_API_KEYS: 'bench-key' },
  logger: createLogger('warn'),
  announce: () => {},
});
process.stdout.write(`ready ${server.url}\n`);
// Exit cleanly on SIGTERM so that `node --cpu-prof` can write its profile.
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
