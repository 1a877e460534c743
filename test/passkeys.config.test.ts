import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { originProblem, rpIdProblem } from '../src/challenge/passkey-config.js';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

async function configFile(yaml: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'riskgate-config-'));
  const file = join(dir, 'riskgate.yaml');
  await writeFile(file, yaml);
  return file;
}

function problems(file: string): string {
  try {
    loadConfig({ config: file });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  return '';
}

describe('passkeys: configuration', () => {
  it('takes a relying party with its origins, and the defaults for the rest', async () => {
    const c = loadConfig({
      config: await configFile('passkeys:\n  rpId: example.com\n  rpName: Example\n  origins: [https://example.com, https://login.example.com, "https://example.com:8443"]\nchallenges:\n  prefer: [totp]\n'),
    });
    expect(c.file.passkeys).toEqual({ rpId: 'example.com', rpName: 'Example', origins: ['https://example.com', 'https://login.example.com', 'https://example.com:8443'] });
    expect(c.file.challenges?.prefer).toEqual(['totp']);
    expect(loadConfig({ config: await configFile('passkeys:\n  rpId: localhost\n  rpName: Dev\n  origins: ["http://localhost:5173"]\n  userVerification: preferred\n') }).file.passkeys?.userVerification).toBe('preferred');
  });

  it('refuses a bad rpId or origin at its file:line:col', async () => {
    const rp = problems(await configFile('server:\n  port: 3000\npasskeys:\n  rpId: https://example.com\n  rpName: Example\n  origins: [https://example.com]\n'));
    expect(rp).toMatch(/riskgate\.yaml:4:9: RG103 rpId "https:\/\/example\.com" is not a domain name: write the host alone/);
    const origins = problems(await configFile('passkeys:\n  rpId: example.com\n  rpName: Example\n  origins:\n    - https://example.com\n    - https://example.org\n    - http://example.com\n    - https://example.com/login\n'));
    const lines = origins.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/riskgate\.yaml:6:7: RG103 origin "https:\/\/example\.org" is not on rpId "example\.com"/);
    expect(lines[1]).toMatch(/riskgate\.yaml:7:7: RG103 origin "http:\/\/example\.com" must use https/);
    expect(lines[2]).toMatch(/riskgate\.yaml:8:7: RG103 origin "https:\/\/example\.com\/login" is not written as browsers send it: "https:\/\/example\.com"/);
    expect(problems(await configFile('passkeys:\n  rpId: example.com\n  rpName: Example\n'))).toMatch(/RG101 missing field "origins" in passkeys/);
    expect(problems(await configFile('passkeys:\n  rpId: example.com\n  rpName: Example\n  origins: []\n'))).toMatch(/passkeys\.origins/);
    expect(problems(await configFile('passkeys:\n  rpId: example.com\n  rpName: Example\n  origins: [https://example.com]\n  attestation: enterprise\n'))).toMatch(/passkeys\.attestation must be one of: "none", "direct"/);
    expect(problems(await configFile('challenges:\n  prefer: [sms]\n'))).toMatch(/challenges\.prefer\[0\]/);
  });

  it('knows a relying party id from an address, and an origin a browser would send for it', () => {
    expect(rpIdProblem('example.com')).toBeNull();
    expect(rpIdProblem('localhost')).toBeNull();
    expect(rpIdProblem('Example.com')).toMatch(/lower case/);
    expect(rpIdProblem('192.168.1.10')).toMatch(/address/);
    expect(rpIdProblem('[::1]')).toMatch(/address/);
    expect(rpIdProblem('example.com/')).toMatch(/not a domain name/);
    expect(rpIdProblem('example.com:8443')).toMatch(/has a port/);
    expect(rpIdProblem('-bad.example.com')).toMatch(/not a domain name/);
    expect(originProblem('https://example.com', 'example.com')).toBeNull();
    expect(originProblem('https://a.b.example.com', 'example.com')).toBeNull();
    expect(originProblem('http://localhost:5173', 'localhost')).toBeNull();
    expect(originProblem('https://notexample.com', 'example.com')).toMatch(/not on rpId/);
    expect(originProblem('https://example.com:443', 'example.com')).toMatch(/not written as browsers send it/);
    expect(originProblem('https://EXAMPLE.com', 'example.com')).toMatch(/not written as browsers send it/);
    expect(originProblem('example.com', 'example.com')).toMatch(/not a URL/);
    expect(originProblem('ftp://example.com', 'example.com')).toMatch(/https/);
  });
});
