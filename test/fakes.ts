import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fakeServer, type FakeAnswer, type FakeServer, type Recorded } from './challenge-helpers.js';

/**
 * Fake provider APIs on 127.0.0.1 that answer as each provider's documentation shows. Each
 * holds the code it "sent" (`code`), and `mode` switches it to a failure: a 5xx, a documented
 * error, or no answer at all (a timeout).
 */
export type Mode = 'ok' | 'down' | 'hang' | 'rate_limited' | 'unauthorized';

export interface Fake extends FakeServer {
  mode: Mode;
  code: string;
}

function failure(mode: Mode, rateLimited: FakeAnswer): FakeAnswer | null {
  if (mode === 'hang') return 'hang';
  if (mode === 'down') return { status: 503, json: { message: 'service unavailable' } };
  if (mode === 'unauthorized') return { status: 401, json: { detail: 'Invalid username/password.' } };
  if (mode === 'rate_limited') return rateLimited;
  return null;
}

async function fake(code: string, handle: (r: Recorded, f: Fake) => FakeAnswer, rateLimited: FakeAnswer): Promise<Fake> {
  const f = { mode: 'ok', code } as Fake;
  return Object.assign(f, await fakeServer((r) => failure(f.mode, rateLimited) ?? handle(r, f)));
}

/** Xoxzo: SMS send, OTP request and OTP verify (docs.xoxzo.com/en/sms, /en/otp). */
export async function fakeXoxzo(): Promise<Fake> {
  const otps = new Map<string, { code: string; used: boolean }>();
  let n = 0;
  return fake(
    '246810',
    (r, f) => {
      if (r.method === 'POST' && r.path === '/sms/messages/') {
        const form = new URLSearchParams(r.body);
        if (!form.get('recipient') || !form.get('sender') || !form.get('message')) return { status: 400, json: { message: ['This field is required.'] } };
        return { status: 201, json: [{ msgid: `msg${++n}` }] };
      }
      if (r.method === 'POST' && r.path === '/otp/request/') {
        const body = JSON.parse(r.body) as { website?: string; phone_number?: string };
        if (!body.website || !body.phone_number?.startsWith('+')) return { status: 400, json: { phone_number: ['Enter a valid phone number.'] } };
        const id = String(1000 + ++n);
        otps.set(id, { code: f.code, used: false });
        return { status: 201, json: { msgid: id } };
      }
      if (r.method === 'POST' && r.path === '/otp/verify/') {
        const body = JSON.parse(r.body) as { otp_id?: string; code?: string };
        const otp = otps.get(body.otp_id ?? '');
        if (!otp || otp.used || otp.code !== body.code) return { status: 400, json: { code: ['Invalid code.'] } };
        otp.used = true;
        return { status: 200, json: { verified: true } };
      }
      return { status: 404, json: { detail: 'Not found.' } };
    },
    { status: 429, json: { detail: 'Request was throttled.' } },
  );
}

/** Twilio Verify v2 (twilio.com/docs/verify/api), with its 5-check limit and error codes. */
export async function fakeTwilio(): Promise<Fake> {
  const verifications = new Map<string, { code: string; checks: number; status: string }>();
  let n = 0;
  const error = (status: number, code: number, message: string): FakeAnswer => ({ status, json: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status } });
  return fake(
    '135790',
    (r, f) => {
      const m = /^\/v2\/Services\/(VA[0-9a-f]{32})\/(Verifications|VerificationCheck)$/.exec(r.path);
      if (!m || r.method !== 'POST') return error(404, 20404, 'The requested resource was not found');
      const form = new URLSearchParams(r.body);
      if (m[2] === 'Verifications') {
        if (!form.get('To')?.startsWith('+') && !form.get('To')?.includes('@')) return error(400, 60200, 'Invalid parameter `To`');
        if (!['sms', 'call', 'whatsapp', 'email'].includes(form.get('Channel') ?? '')) return error(400, 60200, 'Invalid parameter: Channel');
        const sid = `VE${String(++n).padStart(32, '0')}`;
        verifications.set(sid, { code: f.code, checks: 0, status: 'pending' });
        return { status: 201, json: { sid, status: 'pending', to: form.get('To'), channel: form.get('Channel'), valid: false } };
      }
      const v = verifications.get(form.get('VerificationSid') ?? '');
      if (!v || v.status !== 'pending') return error(404, 20404, 'The requested resource was not found');
      if (v.checks >= 5) return error(429, 60202, 'Max check attempts reached');
      v.checks += 1;
      if (form.get('Code') === v.code) v.status = 'approved';
      return { status: 200, json: { sid: form.get('VerificationSid'), status: v.status, valid: v.status === 'approved' } };
    },
    error(429, 60203, 'Max send attempts reached'),
  );
}

/** Message Central VerifyNow (messagecentral.com/product/verify-now/api). */
export async function fakeMessageCentral(): Promise<Fake> {
  const verifications = new Map<string, { code: string; status: string }>();
  let n = 0;
  const answer = (status: number, responseCode: number, message: string, data: unknown = null): FakeAnswer => ({ status, json: { responseCode, message, data } });
  return fake(
    '8642',
    (r, f) => {
      if (r.headers.authtoken !== 'mc-token') return answer(401, 401, 'UNAUTHORIZED');
      if (r.method === 'POST' && r.path === '/verification/v3/send') {
        if (!r.query.get('countryCode') || !r.query.get('mobileNumber') || !['SMS', 'WHATSAPP'].includes(r.query.get('flowType') ?? '')) return answer(400, 400, 'BAD_REQUEST');
        const id = String(++n);
        verifications.set(id, { code: f.code, status: 'pending' });
        return answer(200, 200, 'SUCCESS', { verificationId: id, mobileNumber: r.query.get('mobileNumber'), responseCode: '200', errorMessage: null, timeout: '60.0', smsCLI: null, transactionId: `tx-${id}` });
      }
      if (r.method === 'GET' && r.path === '/verification/v3/validateOtp') {
        const v = verifications.get(r.query.get('verificationId') ?? '');
        if (!v) return answer(400, 505, 'INVALID_VERIFICATION_ID');
        if (v.status === 'done') return answer(400, 703, 'ALREADY_VERIFIED');
        if (r.query.get('code') !== v.code) return answer(400, 702, 'WRONG_OTP_PROVIDED');
        v.status = 'done';
        return answer(200, 200, 'SUCCESS', { verificationId: r.query.get('verificationId'), mobileNumber: null, verificationStatus: 'VERIFICATION_COMPLETED', responseCode: '200', errorMessage: null });
      }
      return answer(404, 404, 'NOT_FOUND');
    },
    answer(400, 800, 'MAXIMUM_LIMIT_REACHED'),
  );
}

/** A minimal SMTP server (RFC 5321 happy path): records messages; `rcpt` answers RCPT TO; `greet: false` never says hello. */
export interface FakeSmtp {
  port: number;
  messages: { from: string; to: string[]; data: string }[];
  rcpt: string;
  greet: boolean;
  close(): Promise<void>;
}

export async function fakeSmtp(): Promise<FakeSmtp> {
  const sockets = new Set<Socket>();
  const state: FakeSmtp = { port: 0, messages: [], rcpt: '250 2.1.5 Ok', greet: true, close: async () => {} };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (!state.greet) return;
    let buffer = '';
    let inData = false;
    let current = { from: '', to: [] as string[], data: '' };
    const say = (line: string) => socket.write(`${line}\r\n`);
    say('220 fake.smtp ESMTP ready');
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let i: number;
      while ((i = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            state.messages.push(current);
            current = { from: '', to: [], data: '' };
            say('250 2.0.0 Ok: queued as FAKE1');
          } else current.data += `${line}\n`;
          continue;
        }
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO' || cmd === 'HELO') say('250 fake.smtp');
        else if (cmd === 'MAIL') (current.from = line.slice(10).replace(/[<>]/g, ''), say('250 2.1.0 Ok'));
        else if (cmd === 'RCPT') {
          if (state.rcpt.startsWith('250')) current.to.push(line.slice(8).replace(/[<>]/g, ''));
          say(state.rcpt);
        } else if (cmd === 'DATA') (inData = true, say('354 End data with <CR><LF>.<CR><LF>'));
        else if (cmd === 'QUIT') (say('221 2.0.0 Bye'), socket.end());
        else if (cmd === 'RSET') say('250 Ok');
        else say('502 5.5.2 Command not recognized');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
