import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { makeTotp } from '../src/challenge/totp.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { IP, RULES_DIR, UA } from './helpers.js';

const KEY = 'k-secret-test';

describe('codes, secrets, recovery codes and tokens stay out of the log and out of the database', () => {
  it('after a full run of every second factor, neither the log (at trace level, with request logging) nor any file of the data directory holds one', async () => {
    const data = await mkdtemp(join(tmpdir(), 'riskgate-secrets-'));
    // Ten-digit codes, so that a code cannot turn up by chance inside a timestamp in the files scanned below.
    const base = loadConfig({ data, rules: RULES_DIR, port: '0' });
    const config = { ...base, logLevel: 'trace', logRequests: true, file: { challenges: { codeLength: 10 } } };
    const logLines: string[] = [];
    const logger = createLogger('trace', new Writable({ write: (c, _e, cb) => (logLines.push(String(c)), cb()) }));
    const outbox: string[] = [];
    let now = Date.parse('2026-03-02T08:00:00Z');
    const server = await startServer({ config, env: { RISKGATE_API_KEYS: KEY, RISKGATE_SECRET: 'ab'.repeat(32) }, logger, clock: () => now, announce: (l) => outbox.push(l) });
    let requests = 0;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${KEY}`, 'x-request-id': `req-${++requests}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return (await res.json()) as Record<string, unknown> & { challenge?: { id: string } };
    };
    const secrets: string[] = [];
    let stored: string[] = [];
    try {
      const home = { userId: 'erin', ip: IP.homeNO, userAgent: UA.chromeWindows, deviceId: 'd-erin' };
      for (let i = 0; i < 20; i++) {
        now += 86_400_000;
        await call('POST', '/v1/decisions', home);
      }
      now += 3_600_000;
      // A code by SMS (the dev outbox), wrong once, then right with trust.
      const d = await call('POST', '/v1/decisions', { userId: 'erin', ip: IP.brazil, userAgent: UA.safariIphone, deviceId: 'd-new', phone: '+4791234567' });
      const code = /(\d{10}) is your/.exec(outbox.join('\n'))![1]!;
      secrets.push(code);
      await call('POST', `/v1/challenges/${d.challenge!.id}/verify`, { code: code === '0000000000' ? '1111111111' : '0000000000' });
      const v = await call('POST', `/v1/challenges/${d.challenge!.id}/verify`, { code, trustDevice: true });
      expect(v.status).toBe('verified');
      secrets.push(v.trustToken as string, (v.trustToken as string).split('.')[3]!);
      await call('POST', '/v1/decisions', { userId: 'erin', ip: IP.brazil, userAgent: UA.safariIphone, deviceId: 'd-new', trustToken: v.trustToken });
      // TOTP.
      const e = await call('POST', '/v1/users/erin/totp');
      secrets.push(e.secret as string);
      const totpCode = makeTotp(e.secret as string).generate({ timestamp: now });
      expect((await call('POST', '/v1/users/erin/totp/confirm', { code: totpCode })).status).toBe('confirmed');
      // Recovery codes, one of them used.
      const r = await call('POST', '/v1/users/erin/recovery-codes');
      const codes = r.codes as string[];
      secrets.push(...codes, ...codes.map((c) => c.replace('-', '')));
      now += 3_600_000;
      const d2 = await call('POST', '/v1/decisions', { userId: 'erin', ip: IP.japan, userAgent: UA.firefoxLinux, deviceId: 'd-x' });
      expect((await call('POST', `/v1/challenges/${d2.challenge!.id}/verify`, { recoveryCode: codes[0] })).status).toBe('verified');
      stored = (await server.store.audit.query({ limit: 1000 })).map((e) => e.kind);
    } finally {
      await server.close();
    }

    // Every audit event is one log line too (for a SIEM), with the id of the request that caused it.
    const lines = logLines.map((l) => JSON.parse(l) as { msg: string; event?: string; requestId?: string });
    const events = lines.filter((l) => l.msg === 'audit event');
    expect(events.map((e) => e.event).sort()).toEqual([...stored].sort());
    expect(new Set(events.map((e) => e.event))).toEqual(new Set(['decision', 'challenge.created', 'challenge.sent', 'challenge.failed', 'challenge.verified', 'trust.issued', 'totp.enrolled', 'totp.confirmed', 'recovery.generated', 'recovery.used']));
    for (const e of events) expect(e.requestId, e.event).toMatch(/^req-\d+$/);
    // And every line a request logs carries its id: request logging, audit events.
    for (const l of lines.filter((x) => x.msg === 'incoming request' || x.msg === 'request completed')) expect(l.requestId, JSON.stringify(l)).toMatch(/^req-\d+$/);

    const log = logLines.join('');
    expect(log).toContain('/verify'); // request logging was on: the requests themselves are in the log
    for (const s of secrets) expect(log, `log holds ${s}`).not.toContain(s);
    expect(log).not.toContain(KEY);

    // Every byte of the data directory: database, WAL, key files.
    let all = '';
    for (const f of await readdir(data)) {
      const text = (await readFile(join(data, f))).toString('latin1');
      all += text;
      for (const s of secrets) expect(text.includes(s), `${f} holds ${s}`).toBe(false);
    }
    // The scan does see what is stored: the destination number is kept (to resend), in clear.
    expect(all).toContain('+4791234567');
  });
});
