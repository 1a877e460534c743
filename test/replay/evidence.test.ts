import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatProblem, type LoginEvent, type Problem } from '../../src/replay/event.js';
import { readEvents } from '../../src/replay/input.js';
import { parseJsonEvent } from '../../src/replay/jsonl.js';
import { removeTempDirs, tempDir } from './helpers.js';

const ok = { time: '2026-03-02T08:15:00.000Z', userId: 'u0042', ip: '81.167.144.58', userAgent: 'Mozilla/5.0', deviceId: 'd-91c2', outcome: 'success' };
const fingerprint = { timeZone: 'Europe/Oslo', languages: ['nb-NO', 'nb', 'en'], screen: '1920x1080', platform: 'Win32', hardwareConcurrency: 8, deviceMemory: 8, colorDepth: 24, touch: 0, webglHash: '0980a244' };
const parse = (o: Record<string, unknown>) => parseJsonEvent(JSON.stringify(o));

afterAll(removeTempDirs);

describe('JSONL device evidence (fingerprint, deviceProof)', () => {
  it('carries a fingerprint and a device proof into the event', () => {
    expect(parse({ ...ok, fingerprint, deviceProof: 'valid' })).toMatchObject({ fingerprint, deviceProof: 'valid', deviceId: 'd-91c2' });
    expect(parse({ ...ok, fingerprint: { platform: 'iPhone' }, deviceProof: 'invalid' })).toMatchObject({ fingerprint: { platform: 'iPhone' }, deviceProof: 'invalid' });
  });

  it('leaves both out when absent or null', () => {
    for (const extra of [{}, { fingerprint: null, deviceProof: null }]) {
      const e = parse({ ...ok, ...extra });
      expect(e).not.toHaveProperty('fingerprint');
      expect(e).not.toHaveProperty('deviceProof');
    }
  });

  it('names the attribute that is wrong', () => {
    const problem = (o: Record<string, unknown>) => {
      const r = parse({ ...ok, ...o });
      return 'problem' in r ? `${r.problem.field}: ${r.problem.message}` : 'accepted';
    };
    expect(problem({ fingerprint: 'abc' })).toBe('fingerprint: expected an object of client attributes');
    expect(problem({ fingerprint: [1] })).toBe('fingerprint: expected an object of client attributes');
    expect(problem({ fingerprint: { gpu: 'x' } })).toMatch(/^fingerprint\.gpu: not a fingerprint attribute \(expected one of timeZone, /);
    expect(problem({ fingerprint: { hardwareConcurrency: '8' } })).toBe('fingerprint.hardwareConcurrency: expected a number, 0 or more');
    expect(problem({ fingerprint: { touch: -1 } })).toBe('fingerprint.touch: expected a number, 0 or more');
    expect(problem({ fingerprint: { screen: 1920 } })).toBe('fingerprint.screen: expected a string');
    expect(problem({ fingerprint: { webglHash: 'x'.repeat(300) } })).toBe('fingerprint.webglHash: longer than 256 characters');
    expect(problem({ fingerprint: { languages: 'en' } })).toBe('fingerprint.languages: expected an array of at most 16 language tags');
    expect(problem({ fingerprint: { languages: Array(17).fill('en') } })).toBe('fingerprint.languages: expected an array of at most 16 language tags');
    expect(problem({ deviceProof: 'ok' })).toBe('deviceProof: expected "valid" or "invalid", found "ok"');
    expect(problem({ deviceProof: true })).toBe('deviceProof: expected "valid" or "invalid", found true');
  });

  it('reports a bad attribute as file:line: field: problem and reads the rest', async () => {
    const path = join(await tempDir(), 'evidence.jsonl');
    await writeFile(path, [{ ...ok, fingerprint }, { ...ok, fingerprint: { colorDepth: 'deep' } }, { ...ok, deviceProof: 'valid' }].map((o) => JSON.stringify(o)).join('\n'));
    const problems: Problem[] = [];
    const events: LoginEvent[] = [];
    for await (const batch of readEvents({ path, index: 0 }, { problem: (p) => problems.push(p), bytes: () => {} })) events.push(...batch);
    expect(problems.map((p) => formatProblem(p).replace(path, 'F'))).toEqual(['F:2: fingerprint.colorDepth: expected a number, 0 or more']);
    expect(events.map((e) => [e.line, e.fingerprint?.timeZone, e.deviceProof])).toEqual([
      [1, 'Europe/Oslo', undefined],
      [3, undefined, 'valid'],
    ]);
  });
});
