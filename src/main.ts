import { parseArgs } from 'node:util';
import { showDiagnostic, type CommandOutput } from './command.js';
import { loadConfig } from './config.js';
import { ConfigError, StartError } from './errors.js';
import { explainCommand } from './explain/command.js';
import { reloadServer } from './lifecycle/reload.js';
import { USAGE as REPLAY_USAGE, replayCommand } from './replay/command.js';
import { USAGE as GENERATE_USAGE, generateCommand } from './replay/generate/command.js';
import { rulesCheck } from './rules/check.js';
import { RuleSetError } from './rules/diagnostics.js';
import { REPORTERS, rulesTest, type Reporter } from './ruletest/command.js';
import { startServer } from './server.js';

/** One command: what `--help` prints (its usage and options), and how it runs (its exit code). */
interface Command {
  help: string;
  run(args: string[], io: Io): Promise<number>;
}

/** Where the commands write: the process's stdout and stderr, or a test's lines. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

function print(o: CommandOutput, io: Io): number {
  for (const line of o.stdout) io.out(line);
  for (const line of o.stderr) io.err(line);
  return o.code;
}

const RELOAD_TIMEOUT_MS = 10_000;

async function serve(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { port: { type: 'string' }, host: { type: 'string' }, data: { type: 'string' }, rules: { type: 'string' }, config: { type: 'string' } },
    strict: true,
  });
  const config = loadConfig(values);
  // `ps` shows what runs, and a pid file left by a killed server is told apart from another program that reuses its pid.
  process.title = ['riskgate', 'serve', ...args].join(' ');
  let server;
  try {
    server = await startServer({ config, handleSignals: true });
  } catch (e) {
    if (e instanceof RuleSetError) {
      for (const d of e.diagnostics) io.err(showDiagnostic(d));
      io.err(`riskgate: the rules in ${config.rulesDir} have ${e.diagnostics.length} problem(s); not starting`);
      return 1;
    }
    throw e;
  }
  const stop = (signal: NodeJS.Signals) => {
    void server.close(signal).then(
      () => process.exit(0),
      (e: unknown) => {
        io.err(`riskgate: stopping failed: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return new Promise<number>(() => {});
}

async function reload(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { data: { type: 'string' }, config: { type: 'string' } }, strict: true });
  return print(await reloadServer(loadConfig(values).dataDir, RELOAD_TIMEOUT_MS), io);
}

/** The rules directory, the one positional argument of the `rules` commands. */
function rulesDir(positionals: string[]): string {
  if (positionals.length > 1) throw new ConfigError(`one rules directory, not ${positionals.length} ("${positionals.join('", "')}")`);
  return positionals[0] ?? './rules';
}

async function check(args: string[], io: Io): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: {} });
  return print(await rulesCheck(rulesDir(positionals)), io);
}

async function test(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { verbose: { type: 'boolean', default: false }, reporter: { type: 'string', default: 'text' } } });
  const reporter = REPORTERS.find((r) => r === values.reporter);
  if (!reporter) throw new ConfigError(`--reporter: "${values.reporter}" is not one of ${REPORTERS.join(', ')}`);
  return print(await rulesTest(rulesDir(positionals), { verbose: values.verbose, reporter: reporter satisfies Reporter }), io);
}

const COMMANDS: Record<string, Command> = {
  serve: {
    help: `usage: riskgate serve [--port 3000] [--host 127.0.0.1] [--data ./data] [--rules ./rules] [--config riskgate.yaml]

Serves the HTTP API (docs/api.md) until SIGTERM or SIGINT, which let requests in flight
finish (up to 10 s) and exit 0. SIGHUP, or \`riskgate reload\`, reloads the rules.

  --port N         the port (default 3000, or server.port in the config file)
  --host ADDR      the address to listen on (default 127.0.0.1)
  --data DIR       the data directory: SQLite store, API key hashes, generated secret,
                   riskgate.pid (default ./data)
  --rules DIR      the rule files (default ./rules)
  --config FILE    riskgate.yaml: providers, limits, store, log (docs/configuration.md)

Environment: RISKGATE_API_KEYS, RISKGATE_SECRET, REDIS_URL (docs/configuration.md).`,
    run: serve,
  },
  reload: {
    help: `usage: riskgate reload [--data ./data] [--config riskgate.yaml]

Reloads the rules of the server that serves the data directory (through SIGHUP to the pid
in <data>/riskgate.pid) and prints what changed, or every problem of a refused set; a
refused set leaves the server's rules as they were. Exit 0 when reloaded, 1 when refused or
when no server answers.

  --data DIR       the server's data directory (default ./data)
  --config FILE    take the data directory from this config file`,
    run: reload,
  },
  replay: {
    help: `${REPLAY_USAGE}

Runs recorded logins (JSONL or the RBA dataset's CSV) through the engine, offline, and
prints friction and catch. Never starts a server.

  --rules DIR            the rule set (default ./rules)
  --out FILE             one decision per input event (JSONL)
  --out-fields LIST      more fields on each --out line: file,time,label,ip,userAgent,deviceId,messages
  --json                 the summary as JSON
  --compare DIR          a second rule set, replayed in the same pass
  --report FILE          a self-contained HTML report
  --warmup DURATION      replay but do not count the first 14d, 36h...
  --geo geoip|csv        locate addresses with the database or the RBA CSV's own columns
  --skip-bad             skip and count bad lines instead of stopping
  --challenged-attacks-pass   challenged attacks pass the step-up too

Details: docs/replay.md.`,
    run: async (args, io) => print(await replayCommand(args), io),
  },
  generate: {
    help: `${GENERATE_USAGE}

Writes a seeded, labelled stream of realistic logins and attacks (JSONL, replay's input) to
--out or stdout. The same options give the same stream.

  --seed S           the seed (default 1)
  --users N          users (default 2000)
  --days N           days (default 42)
  --start DATE       the first day (default 2026-03-02)
  --device-keys P    share of devices holding a device-bound key, 0 to 1 (default 0.3)
  --out FILE         where to write (default stdout)

The model: docs/replay.md#the-stream-generator.`,
    run: async (args, io) => print(await generateCommand(args), io),
  },
  'rules check': {
    help: `usage: riskgate rules check [DIR]

Compiles the rules in DIR (default ./rules) and checks their tests, as the server would:
every problem as file:line:col: CODE message, exit 1 if any (codes: docs/rules.md).`,
    run: check,
  },
  'rules test': {
    help: `usage: riskgate rules test [DIR] [--verbose] [--reporter text|junit]

Runs the *_test.yaml suites beside the rules in DIR (default ./rules) through the engine;
exit 1 if any test fails.

  --verbose            with each failing test, every signal the engine computed for it
  --reporter junit     JUnit XML on stdout, for CI systems (default: text)`,
    run: test,
  },
  explain: {
    help: `usage: riskgate explain [LOGIN.json | -] [--rules ./rules] [--history FILE.jsonl | --data DIR] [--now TIME] [--json]

Decides one login as the server would, and prints every signal and every rule's result:
fired or not, points, message. The login is a decision request (docs/api.md) as JSON, from
the file or stdin; its "time" field, or --now, is when it happens (default: now).

  --rules DIR        the rule set (default ./rules)
  --history FILE     earlier login events (JSONL, replay's format) taught first
  --data DIR         decide against a server's data directory instead (read only)
  --now TIME         the time of the login (ISO 8601)
  --json             the explanation as JSON`,
    run: async (args, io) => print(await explainCommand(args), io),
  },
};

const OVERVIEW = `usage: riskgate COMMAND [options]

  serve          serve the HTTP API
  reload         reload the rules of a running server, and print what changed
  replay         recorded logins through the engine, offline: friction, catch, report
  generate       a seeded, labelled stream of realistic logins and attacks
  rules check    every problem of the rules and their tests, as file:line:col: CODE message
  rules test     run the *_test.yaml suites beside the rules
  explain        one login: every signal and every rule's result

riskgate COMMAND --help shows a command's options.`;

const wantsHelp = (args: string[]) => {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
};

/** Node's parse errors as one line: "unknown option '--x'", without its advice on positionals. */
function parseProblem(e: Error): string {
  const first = e.message.split(/\.\s/)[0]!.replace(/\.$/, '');
  return first.charAt(0).toLowerCase() + first.slice(1);
}

const RULES_HELP = `${COMMANDS['rules check']!.help}\n\n${COMMANDS['rules test']!.help}`;
const isHelp = (a: string | undefined) => a === '--help' || a === '-h';

/** What `riskgate help TOPIC` prints: a command's help, both rules commands', or the overview. */
function helpFor(topic: string | undefined): string {
  if (topic === 'rules') return RULES_HELP;
  return (topic && COMMANDS[topic]?.help) || OVERVIEW;
}

/**
 * Runs `riskgate ARGV` and answers its exit code (`serve` never answers: it exits on SIGTERM).
 * src/cli.ts calls it with the process's streams.
 */
export async function main(argv: string[], io: Io): Promise<number> {
  const [first, second, ...more] = argv;
  if (first === undefined) {
    io.err(OVERVIEW);
    return 2;
  }
  if (isHelp(first) || first === 'help') {
    io.out(helpFor(second === 'rules' && more[0] ? `rules ${more[0]}` : second));
    return 0;
  }
  if (first === 'rules' && second === undefined) {
    io.err(RULES_HELP);
    return 2;
  }
  if (first === 'rules' && isHelp(second)) {
    io.out(RULES_HELP);
    return 0;
  }
  const name = first === 'rules' ? `rules ${second}` : first;
  const args = first === 'rules' ? more : argv.slice(1);
  const command = COMMANDS[name];
  if (!command) {
    io.err(`riskgate: unknown command "${name}"; see riskgate --help`);
    return 2;
  }
  if (wantsHelp(args)) {
    io.out(command.help);
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`riskgate ${name}: ${parseProblem(e as Error)}; see riskgate ${name} --help`);
      return 2;
    }
    if (e instanceof ConfigError) {
      io.err(`riskgate ${name}: ${e.message}`);
      return 2;
    }
    if (e instanceof StartError) {
      io.err(`riskgate ${name}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
