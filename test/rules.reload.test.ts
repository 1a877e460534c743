import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUTH, IP, UA, copyRules, decide, makeApp, type TestApp } from './helpers.js';

describe('rules reload', () => {
  let t: TestApp;
  let dir: string;
  beforeEach(async () => {
    dir = await copyRules();
    t = await makeApp({ rulesDir: dir });
  });
  afterEach(() => t.close());

  const reload = () => t.app.inject({ method: 'POST', url: '/v1/admin/rules/reload', headers: AUTH });

  it('swaps in a good set at once', async () => {
    const before = t.rules.current().version;
    await appendFile(
      join(dir, 'lists.yaml'),
      `
  - id: lists.denied_country
    severity: critical
    action: block
    when: geo.country == "JP"
    message: "logins from {{geo.country}} are not allowed"
`,
    );
    const res = await reload();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'reloaded', changed: true });
    expect(res.json().version).not.toBe(before);
    const d = await decide(t, { userId: 'u', ip: IP.japan, userAgent: UA.chromeWindows });
    expect(d.body).toMatchObject({ action: 'block', rulesVersion: res.json().version });
    const rules = (await t.app.inject({ method: 'GET', url: '/v1/rules', headers: AUTH })).json();
    expect(rules.rules.map((r: { id: string }) => r.id)).toContain('lists.denied_country');
    expect(rules.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a broken set, keeps the last good one, and reports it in the answer and metrics', async () => {
    const good = t.rules.current().version;
    await writeFile(join(dir, 'broken.yaml'), 'rules:\n  - id: broken.rule\n    severity: huge\n    when: device.nwe && geo.speed_kmh > "fast"\n    message: "{{geo.nope}}"\n');
    const res = await reload();
    expect(res.statusCode).toBe(422);
    const body = res.json();
    expect(body.error.code).toBe('RULES_INVALID');
    expect(body.error.details).toEqual([
      expect.stringMatching(/broken\.yaml:3:15: RG120 unknown severity "huge"/),
      expect.stringMatching(/broken\.yaml:4:18: RG201 condition: No such key: nwe/),
      expect.stringMatching(/broken\.yaml:5:15: RG210 message names unknown signal "geo.nope"/),
    ]);
    expect(t.rules.current().version).toBe(good);
    expect((await decide(t, { userId: 'u', ip: IP.homeNO })).body.rulesVersion).toBe(good);
    const metrics = await t.metrics.registry.metrics();
    expect(metrics).toMatch(/riskgate_rules_reloads_total\{result="failure"\} 1/);
    expect(metrics).toMatch(/riskgate_rules_last_reload_failed 1/);
  });
});
