import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/replay/replay.js';
import { keyFigures } from '../../src/replay/summary.js';
import { loadRuleSet } from '../../src/rules/compile.js';
import { RULES_DIR } from '../helpers.js';
import { DAY } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('README', () => {
  it('shows the figures that replaying the committed fixture gives', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('npx riskgate replay fixtures/demo.jsonl --warmup 14d');
    const r = await replay({ files: [join(ROOT, 'fixtures', 'demo.jsonl')], rules: await loadRuleSet(RULES_DIR), warmupMs: 14 * DAY });
    for (const line of keyFigures(r.summary)) expect(readme).toContain(line);
  });
});
