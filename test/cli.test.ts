import { describe, expect, it } from 'vitest';
import { cli } from './cli-helpers.js';

const COMMANDS = ['serve', 'reload', 'replay', 'generate', 'rules check', 'rules test', 'explain'];

describe('the command line', () => {
  it('answers --help on every command with its usage, exit 0', async () => {
    for (const c of COMMANDS) {
      for (const flag of ['--help', '-h']) {
        const run = await cli([...c.split(' '), flag]);
        expect(run, c).toMatchObject({ code: 0, stderr: '' });
        expect(run.stdout, c).toMatch(new RegExp(`^usage: riskgate ${c}`));
      }
    }
    // Even where the options around it would be wrong.
    expect(await cli(['serve', '--port', 'x', '--help'])).toMatchObject({ code: 0 });
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toContain(`  ${c} `);
    expect((await cli(['help', 'reload'])).stdout).toMatch(/^usage: riskgate reload/);
    expect((await cli(['help', 'rules', 'test'])).stdout).toMatch(/^usage: riskgate rules test/);
    expect((await cli(['rules', '--help'])).stdout).toMatch(/usage: riskgate rules check[\s\S]*usage: riskgate rules test/);
  });

  it('refuses an unknown option in one line, exit 2', async () => {
    for (const c of COMMANDS) {
      expect(await cli([...c.split(' '), '--colour']), c).toEqual({ code: 2, stdout: '', stderr: `riskgate ${c}: unknown option '--colour'; see riskgate ${c} --help\n` });
    }
    expect(await cli(['rules', 'test', '--reporter', 'tap'])).toEqual({ code: 2, stdout: '', stderr: 'riskgate rules test: --reporter: "tap" is not one of text, junit\n' });
    expect(await cli(['rules', 'check', 'a', 'b'])).toEqual({ code: 2, stdout: '', stderr: 'riskgate rules check: one rules directory, not 2 ("a", "b")\n' });
  });

  it('refuses an unknown command, and no command, exit 2', async () => {
    expect(await cli(['serv'])).toEqual({ code: 2, stdout: '', stderr: 'riskgate: unknown command "serv"; see riskgate --help\n' });
    expect(await cli(['rules', 'lint'])).toEqual({ code: 2, stdout: '', stderr: 'riskgate: unknown command "rules lint"; see riskgate --help\n' });
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^usage: riskgate COMMAND/);
    expect((await cli(['rules'])).code).toBe(2);
  });
});
