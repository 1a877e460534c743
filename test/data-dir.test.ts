import { chmod, mkdtemp, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { IP, RULES_DIR, UA } from './helpers.js';

/** Every file in `dir` with its permission bits, e.g. { "riskgate.db": "600" }. */
async function modes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = { '.': ((await stat(dir)).mode & 0o777).toString(8) };
  for (const name of await readdir(dir)) out[name] = ((await stat(join(dir, name))).mode & 0o777).toString(8);
  return out;
}

describe('the data directory holds phones, e-mails, location history and secrets: only riskgate may read it', () => {
  it('makes the directory 0700 and every file 0600: database, -wal, -shm, generated key digest and secret', async () => {
    const data = join(await mkdtemp(join(tmpdir(), 'riskgate-modes-')), 'data');
    const announced: string[] = [];
    const server = await startServer({ config: loadConfig({ data, rules: RULES_DIR, port: '0' }), env: {}, logger: createLogger('silent'), announce: (l) => announced.push(l) });
    try {
      const key = announced.join('\n').match(/rg_[A-Za-z0-9_-]{43}/)![0];
      const res = await fetch(`${server.url}/v1/decisions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'dave', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd1', phone: '+4791234567' }),
      });
      expect(res.status).toBe(200);
      const m = await modes(data);
      expect(Object.keys(m)).toEqual(expect.arrayContaining(['riskgate.db', 'riskgate.db-wal', 'riskgate.db-shm', 'api-keys.sha256', 'secret.key']));
      expect(Object.entries(m).filter(([name, mode]) => mode !== (name === '.' ? '700' : '600'))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('narrows what an older riskgate left readable to others', async () => {
    const data = await mkdtemp(join(tmpdir(), 'riskgate-modes-'));
    await chmod(data, 0o755);
    const first = await startServer({ config: loadConfig({ data, rules: RULES_DIR, port: '0' }), env: {}, logger: createLogger('silent'), announce: () => {} });
    await first.close();
    for (const name of await readdir(data)) await chmod(join(data, name), 0o644);
    await writeFile(join(data, 'riskgate.db-wal'), '', { mode: 0o644 });
    const second = await startServer({ config: loadConfig({ data, rules: RULES_DIR, port: '0' }), env: {}, logger: createLogger('silent'), announce: () => {} });
    try {
      const m = await modes(data);
      expect(Object.entries(m).filter(([name, mode]) => mode !== (name === '.' ? '700' : '600'))).toEqual([]);
    } finally {
      await second.close();
    }
  });
});
