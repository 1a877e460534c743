import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPLAY_OPTIONS, replayCommand } from '../../src/replay/command.js';

describe('riskgate replay options', () => {
  it('are each documented in docs/replay.md and named in the usage line', async () => {
    const doc = await readFile(join(import.meta.dirname, '..', '..', 'docs', 'replay.md'), 'utf8');
    const usage = (await replayCommand([])).stderr.at(-1)!;
    for (const name of Object.keys(REPLAY_OPTIONS)) {
      expect(doc, name).toMatch(new RegExp(`^\\| \`--${name}[ \`]`, 'm'));
      expect(usage, name).toContain(`[--${name}`);
    }
  });
});
