import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors.js';
import { DIAGNOSTIC_CODES } from '../src/rules/diagnostics.js';
import { signalPaths } from '../src/signals/schema.js';

const doc = (name: string) => readFile(new URL(`../docs/${name}`, import.meta.url), 'utf8');

describe('documentation keeps up with the code', () => {
  it('documents every rule diagnostic code', async () => {
    const text = await doc('rules.md');
    for (const [code, meaning] of Object.entries(DIAGNOSTIC_CODES)) expect(text).toContain(`| ${code} | ${meaning} |`);
  });

  it('documents every HTTP error code', async () => {
    const text = await doc('api.md');
    for (const [code, def] of Object.entries(ERROR_CODES)) expect(text).toContain(`| ${code} | ${def.status} | ${def.doc} |`);
  });

  it('documents every signal', async () => {
    const text = await doc('signals.md');
    for (const path of signalPaths().keys()) expect(text).toContain(`\`${path}\``);
  });
});
