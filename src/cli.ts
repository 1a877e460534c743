#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { showDiagnostic, type CommandOutput } from './command.js';
import { loadConfig } from './config.js';
import { ConfigError } from './errors.js';
import { replayCommand } from './replay/command.js';
import { generateCommand } from './replay/generate/command.js';
import { rulesCheck } from './rules/check.js';
import { RuleSetError } from './rules/diagnostics.js';
import { rulesTest } from './ruletest/command.js';
import { startServer } from './server.js';

const USAGE = `usage:
  riskgate serve [--port 3000] [--host 127.0.0.1] [--data ./data] [--rules ./rules] [--config riskgate.yaml]
  riskgate replay FILE... [--rules DIR] [--out decisions.jsonl] [--json] [--compare DIR] [--report report.html]
                  [--warmup 14d] [--skip-bad] [--challenged-attacks-pass]
                                 recorded logins (JSONL or RBA-dataset CSV) through the engine, offline
  riskgate generate [--seed 1] [--users 2000] [--days 42] [--start 2026-03-02] [--out FILE]
                                 a seeded, labelled stream of realistic logins and attacks (JSONL)
  riskgate rules check [DIR]     every problem as file:line:col: CODE message; exit 1 if any
  riskgate rules test [DIR]      run the *_test.yaml suites beside the rules; exit 1 if any fails`;

const out = (s: string) => process.stdout.write(`${s}\n`);
const err = (s: string) => process.stderr.write(`${s}\n`);
function print(o: CommandOutput): number {
  for (const line of o.stdout) out(line);
  for (const line of o.stderr) err(line);
  return o.code;
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { port: { type: 'string' }, host: { type: 'string' }, data: { type: 'string' }, rules: { type: 'string' }, config: { type: 'string' } },
    strict: true,
  });
  const config = loadConfig(values);
  let server;
  try {
    server = await startServer({ config, handleSignals: true });
  } catch (e) {
    if (e instanceof RuleSetError) {
      for (const d of e.diagnostics) err(showDiagnostic(d));
      err(`riskgate: the rules in ${config.rulesDir} have ${e.diagnostics.length} problem(s); not starting`);
      return 1;
    }
    throw e;
  }
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return new Promise<number>(() => {});
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'serve') return serve(rest);
  if (cmd === 'replay') return print(await replayCommand(rest));
  if (cmd === 'generate') return print(await generateCommand(rest));
  if (cmd === 'rules' && (rest[0] === 'check' || rest[0] === 'test')) {
    const dir = rest[1] ?? './rules';
    return print(await (rest[0] === 'check' ? rulesCheck(dir) : rulesTest(dir)));
  }
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    out(USAGE);
    return 0;
  }
  err(cmd ? `riskgate: unknown command "${[cmd, ...rest.slice(0, 1)].join(' ')}"` : 'riskgate: no command');
  err(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof ConfigError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`riskgate: ${(e as Error).message}`);
      process.exit(2);
    }
    err(`riskgate: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
