import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Metrics } from '../src/observability/metrics.js';
import { AUTH, IP, makeApp, type TestApp } from './helpers.js';

describe('HTTP metrics', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp({ metrics: new Metrics(false) });
  });
  afterEach(() => t.close());

  it('count requests and their time by method, route pattern and status, beside the engine metrics', async () => {
    for (let i = 0; i < 3; i++) await t.app.inject({ method: 'POST', url: '/v1/decisions', headers: AUTH, payload: { userId: `u${i}`, ip: IP.homeNO } });
    await t.app.inject({ method: 'POST', url: '/v1/decisions', headers: AUTH, payload: { userId: 'u', ip: 'nope' } });
    await t.app.inject({ method: 'POST', url: '/v1/challenges/c-123/verify', headers: AUTH, payload: { code: '123456' } });
    await t.app.inject({ method: 'GET', url: '/no/such/route' });
    const text = await (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toContain('riskgate_http_request_duration_seconds_count{method="POST",route="/v1/decisions",status="200"} 3');
    expect(text).toContain('riskgate_http_request_duration_seconds_count{method="POST",route="/v1/decisions",status="400"} 1');
    // The route's pattern, not its path: one series whatever the id.
    expect(text).toContain('riskgate_http_request_duration_seconds_count{method="POST",route="/v1/challenges/:id/verify",status="404"} 1');
    expect(text).toContain('riskgate_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1');
    expect(text).toContain('riskgate_http_request_duration_seconds_bucket{le="2.5",method="POST",route="/v1/decisions",status="200"} 3');
    expect(text).toContain('riskgate_decisions_total{action="allow"} 3');
  });
});
