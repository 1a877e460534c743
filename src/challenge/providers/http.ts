/** The answer of a provider's HTTP API, or why there was none. */
export type HttpAnswer = { ok: true; status: number; body: unknown; text: string } | { ok: false; reason: 'timeout' | 'failed'; detail: string };

/** Makes the signal that ends a call after `ms`: AbortSignal.timeout, or the tests' own, which fires when a fake server holds a request. */
export type Deadline = (ms: number) => AbortSignal;

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  /** A string is sent as is (with its content-type header); an object as a form. */
  body?: string | URLSearchParams;
}

/** How long a provider waits for an answer; every HTTP provider's options include it. */
export interface HttpTiming {
  timeoutMs: number;
  deadline?: Deadline | undefined;
}

/**
 * One provider call with a hard deadline. Network errors and timeouts become values, so a
 * provider never throws into the delivery loop; a body that is not JSON is kept as text.
 */
export async function request(r: HttpRequest, t: HttpTiming): Promise<HttpAnswer> {
  try {
    const res = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body, signal: t.deadline ? t.deadline(t.timeoutMs) : AbortSignal.timeout(t.timeoutMs), redirect: 'error' });
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    return { ok: true, status: res.status, body, text };
  } catch (e) {
    const err = e as Error;
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return { ok: false, reason: 'timeout', detail: `no answer within ${t.timeoutMs} ms` };
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { ok: false, reason: 'failed', detail: cause ? `${err.message} (${cause})` : err.message };
  }
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** A short, safe description of an unexpected answer for the audit trail (never the request). */
export function describe(status: number, text: string): string {
  return `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`;
}

/** A field of a JSON object answer, or undefined. */
export function field(body: unknown, ...path: string[]): unknown {
  let v: unknown = body;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}
