import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { showDiagnostic, type CommandOutput } from '../command.js';
import { parseDuration } from '../duration.js';
import { loadRuleSet } from '../rules/compile.js';
import { RuleSetError } from '../rules/diagnostics.js';
import type { RuleSet } from '../rules/ruleset.js';
import { OUT_FIELDS, parseOutFields, type OutField } from './decisions.js';
import { ReplayInputError } from './event.js';
import { NoRecordedPlace, type GeoSource } from './places.js';
import { ProgressBar } from './progress.js';
import { replay } from './replay.js';
import { renderReport } from './report.js';
import { formatSummary, summaryJson } from './summary.js';

class Interrupted extends Error {}

export const USAGE =
  'usage: riskgate replay FILE... [--rules DIR] [--out decisions.jsonl] [--out-fields time,label,ip,messages] [--json] [--compare DIR] [--report report.html] [--warmup 14d] [--geo geoip|csv] [--skip-bad] [--challenged-attacks-pass]';
const GEO_SOURCES: readonly GeoSource[] = ['geoip', 'csv'];

/** Every option of `riskgate replay`; docs/replay.md documents each. */
export const REPLAY_OPTIONS = {
  rules: { type: 'string', default: './rules' },
  out: { type: 'string' },
  'out-fields': { type: 'string' },
  json: { type: 'boolean', default: false },
  compare: { type: 'string' },
  report: { type: 'string' },
  warmup: { type: 'string', default: '0d' },
  geo: { type: 'string', default: 'geoip' },
  'skip-bad': { type: 'boolean', default: false },
  'challenged-attacks-pass': { type: 'boolean', default: false },
} as const;

const usage = (message: string): CommandOutput => ({
  code: 2,
  stdout: [],
  stderr: [`riskgate replay: ${message}`, USAGE],
});

async function rulesFrom(dir: string): Promise<RuleSet | string[]> {
  try {
    return await loadRuleSet(dir);
  } catch (e) {
    if (!(e instanceof RuleSetError)) throw e;
    return [...e.diagnostics.map(showDiagnostic), `riskgate replay: the rules in ${dir} have ${e.diagnostics.length} problem(s)`];
  }
}

/** Writes beside the destination and renames, so a reader never sees half a file. */
function writeWhole(path: string, text: string): void {
  const partial = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
  writeFileSync(partial, text);
  renameSync(partial, path);
}

/** `riskgate replay`: never starts a server; reads, decides, measures, and writes only once all went well. */
export async function replayCommand(args: string[]): Promise<CommandOutput> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: REPLAY_OPTIONS,
  });
  if (positionals.length === 0) return usage('no input file');
  const missing = positionals.filter((f) => !existsSync(f));
  if (missing.length) return { code: 1, stdout: [], stderr: missing.map((f) => `riskgate replay: ${f}: no such file`) };
  const warmupMs = parseDuration(values.warmup);
  if (warmupMs === null || warmupMs < 0) return usage(`--warmup: "${values.warmup}" is not a duration like 14d`);
  const geo = GEO_SOURCES.find((g) => g === values.geo);
  if (!geo) return usage(`--geo: "${values.geo}" is not one of ${GEO_SOURCES.join(', ')}`);
  let outFields: OutField[] = [];
  if (values['out-fields'] !== undefined) {
    if (!values.out) return usage('--out-fields needs --out');
    const parsed = parseOutFields(values['out-fields']);
    if ('unknown' in parsed) return usage(`--out-fields: unknown field "${parsed.unknown}"; the fields are ${OUT_FIELDS.join(', ')}`);
    outFields = parsed.fields;
  }

  const rules = await rulesFrom(values.rules);
  if (Array.isArray(rules)) return { code: 1, stdout: [], stderr: rules };
  const compare = values.compare === undefined ? undefined : await rulesFrom(values.compare);
  if (Array.isArray(compare)) return { code: 1, stdout: [], stderr: compare };

  const bar = new ProgressBar();
  // Ctrl-C stops the replay cleanly: temporary state and partial files are removed.
  const stop = new AbortController();
  const interrupt = () => stop.abort(new Interrupted());
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  let result;
  try {
    result = await replay({
      files: positionals,
      rules,
      compare,
      out: values.out,
      outFields,
      geo,
      skipBad: values['skip-bad'],
      challengedAttacksPass: values['challenged-attacks-pass'],
      warmupMs,
      onProgress: bar.update,
      signal: stop.signal,
    });
  } catch (e) {
    if (e instanceof Interrupted) return { code: 130, stdout: [], stderr: ['riskgate replay: interrupted; nothing was written.'] };
    if (e instanceof NoRecordedPlace) {
      const file = positionals[e.event.file]!;
      return { code: 2, stdout: [], stderr: [`riskgate replay: ${file}:${e.event.line}: ${e.message}, and this file has none; nothing was written.`] };
    }
    if (!(e instanceof ReplayInputError)) throw e;
    return {
      code: 1,
      stdout: [],
      stderr: [e.message, 'riskgate replay: stopped at this line; nothing was written. Fix the input, or run with --skip-bad to skip and count bad lines.'],
    };
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    bar.done();
  }
  if (values.report) writeWhole(values.report, renderReport(result));
  const notes = [values.out ? `decisions: ${values.out}` : '', values.report ? `report: ${values.report}` : ''].filter(Boolean);
  return {
    code: 0,
    stdout: values.json ? [JSON.stringify(summaryJson(result), null, 2)] : [formatSummary(result)],
    stderr: notes.map((n) => `riskgate replay: ${n}`),
  };
}
