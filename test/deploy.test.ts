import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const UNIT = join(import.meta.dirname, '..', 'deploy', 'riskgate.service');
const ANALYZE = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('deploy/riskgate.service', () => {
  it('runs node on dist/cli.js (signals reach riskgate), reloads with riskgate reload, and names the pid file', async () => {
    const unit = await readFile(UNIT, 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node \/opt\/riskgate\/dist\/cli\.js serve .*--data \/var\/lib\/riskgate/m);
    expect(unit).toMatch(/^ExecReload=\/usr\/bin\/node \/opt\/riskgate\/dist\/cli\.js reload --data \/var\/lib\/riskgate$/m);
    expect(unit).toMatch(/^PIDFile=\/var\/lib\/riskgate\/riskgate\.pid$/m);
    expect(unit).not.toMatch(/^Exec.*npx/m);
  });

  it.skipIf(!ANALYZE)(ANALYZE ? 'passes systemd-analyze verify' : 'passes systemd-analyze verify (skipped: systemd-analyze is not installed here)', async () => {
    // With the node running these tests, wherever it is installed.
    const dir = await mkdtemp(join(tmpdir(), 'riskgate-unit-'));
    const copy = join(dir, 'riskgate.service');
    await writeFile(copy, (await readFile(UNIT, 'utf8')).replaceAll('/usr/bin/node', process.execPath));
    const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
