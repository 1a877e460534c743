import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveSecret } from '../challenge/keys.js';
import { TrustTokens } from '../challenge/trust.js';
import type { CommandOutput } from '../command.js';
import { Engine, type Decision, type EngineStore } from '../engine/engine.js';
import { offlineEngine } from '../offline.js';
import { parseJsonEvent } from '../replay/jsonl.js';
import { checkIp, checkOptional, checkUserId } from '../replay/event.js';
import { parseIsoTime } from '../replay/timestamps.js';
import { loadRuleSet } from '../rules/compile.js';
import { RuleSetError } from '../rules/diagnostics.js';
import type { RuleSet } from '../rules/ruleset.js';
import { SqliteBackend } from '../store/sqlite/backend.js';
import type { LoginAttempt } from '../types.js';
import { showDiagnostic } from '../command.js';
import { ruleLines, ruleResults, signalLines } from './explain.js';

const STRING_FIELDS = ['userId', 'ip', 'userAgent', 'deviceId', 'trustToken', 'phone', 'country', 'email', 'action', 'time'] as const;

class ExplainInputError extends Error {}

/** The login to explain: a decision request (docs/api.md), and optionally its `time`. */
function parseLogin(text: string, source: string): { attempt: LoginAttempt; time: number | null } {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new ExplainInputError(`${source}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ExplainInputError(`${source}: expected one JSON object, a decision request`);
  const r = o as Record<string, unknown>;
  for (const [k, v] of Object.entries(r)) {
    if (!(STRING_FIELDS as readonly string[]).includes(k)) throw new ExplainInputError(`${source}: unknown field "${k}" (a decision request has ${STRING_FIELDS.join(', ')})`);
    if (typeof v !== 'string') throw new ExplainInputError(`${source}: field "${k}" must be a string`);
  }
  const { time, ...fields } = r as Record<(typeof STRING_FIELDS)[number], string | undefined>;
  if (fields.userId === undefined || fields.ip === undefined) throw new ExplainInputError(`${source}: field "${fields.userId === undefined ? 'userId' : 'ip'}" is missing`);
  const problem = checkUserId(fields.userId) ?? checkIp(fields.ip) ?? checkOptional('userAgent', fields.userAgent) ?? checkOptional('deviceId', fields.deviceId);
  if (problem) throw new ExplainInputError(`${source}: field "${problem.field}": ${problem.message}`);
  const at = time === undefined ? null : parseIsoTime(time);
  if (time !== undefined && at === null) throw new ExplainInputError(`${source}: field "time": "${time}" is not an ISO 8601 time with a zone`);
  return { attempt: { ...fields, userId: fields.userId, ip: fields.ip }, time: at };
}

/** The earlier logins of --history, in time order, up to `before`; a bad line is named by file and line. */
function readHistory(file: string, before: number) {
  const events = readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((text, i) => {
      if (!text.trim()) return [];
      const e = parseJsonEvent(text);
      if ('problem' in e) throw new ExplainInputError(`${file}:${i + 1}: ${e.problem.field}: ${e.problem.message}`);
      return [e];
    });
  return events.filter((e) => e.time < before).sort((a, b) => a.time - b.time);
}

/**
 * The ports of a server's SQLite store, read only: the explained login is neither recorded nor
 * learned, whatever it decides.
 */
function readOnly(store: SqliteBackend): EngineStore {
  return {
    profiles: { get: (u) => store.profiles.get(u), learn: async () => false, unlearn: async () => false },
    decisions: { get: (id) => store.decisions.get(id), save: async () => undefined },
    audit: { query: (q) => store.audit.query(q), append: async () => undefined },
    failures: { counts: (s, now) => store.failures.counts(s, now), add: (s, now) => store.failures.counts(s, now), addWrongCode: async () => undefined },
    logins: store.logins,
    // A proof explained is not spent: the counter is read as if this were its first use.
    limits: { add: async () => 1 },
  };
}

/** Days a trust token lives only matter when issuing one; explain only verifies. */
const VERIFY_ONLY_DAYS = 1;

async function decide(rules: RuleSet, attempt: LoginAttempt, now: number, o: { history?: string | undefined; data?: string | undefined }): Promise<Decision> {
  let clock = now;
  if (o.data) {
    const db = join(o.data, 'riskgate.db');
    if (!existsSync(db)) throw new ExplainInputError(`${o.data}: no riskgate.db here; give a server's data directory`);
    // Read only: a server may be running on it (its last 200 ms of writes are in its journal, not yet in the tables).
    const store = new SqliteBackend({ path: db, readonly: true });
    try {
      // A trust token is checked as the server would: with RISKGATE_SECRET, or the secret generated in the data directory.
      const trust = new TrustTokens(store.challenges, resolveSecret(process.env, o.data).keys, VERIFY_ONLY_DAYS);
      return await new Engine({ store: readOnly(store), rules: () => rules, clock: () => clock, trust, audit: false }).decide(attempt);
    } finally {
      await store.close();
    }
  }
  const offline = offlineEngine({ rules, clock: () => clock });
  try {
    for (const e of o.history ? readHistory(o.history, now) : []) {
      clock = e.time;
      const seen = { userId: e.userId, ip: e.ip, userAgent: e.userAgent, deviceId: e.deviceId };
      if (e.outcome === 'success') await offline.engine.teach(seen);
      else await offline.engine.recordFailure(seen);
    }
    clock = now;
    return await offline.engine.decide(attempt);
  } finally {
    await offline.close();
  }
}

/**
 * `riskgate explain`: one login through the engine, and every signal and every rule's result,
 * like `opa eval --explain`. History comes from a JSONL file (taught as accepted logins and
 * counted failures, as in rule tests) or from a server's data directory (read only).
 */
export async function explainCommand(args: string[]): Promise<CommandOutput> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { rules: { type: 'string', default: './rules' }, history: { type: 'string' }, data: { type: 'string' }, now: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const fail = (line: string, code = 1): CommandOutput => ({ code, stdout: [], stderr: [`riskgate explain: ${line}`] });
  if (positionals.length > 1) return fail(`one login, not ${positionals.length} files`, 2);
  if (values.history && values.data) return fail('give --history or --data, not both', 2);
  const now = values.now === undefined ? null : parseIsoTime(values.now);
  if (values.now !== undefined && now === null) return fail(`--now: "${values.now}" is not an ISO 8601 time with a zone`, 2);
  const source = positionals[0] ?? '-';
  let rules: RuleSet;
  try {
    rules = await loadRuleSet(values.rules);
  } catch (e) {
    if (!(e instanceof RuleSetError)) throw e;
    return { code: 1, stdout: e.diagnostics.map(showDiagnostic), stderr: [`riskgate explain: the rules in ${values.rules} have ${e.diagnostics.length} problem(s)`] };
  }
  try {
    if (source !== '-' && !existsSync(source)) return fail(`${source}: no such file`);
    const { attempt, time } = parseLogin(readFileSync(source === '-' ? 0 : source, 'utf8'), source === '-' ? 'stdin' : source);
    const at = now ?? time ?? Date.now();
    const d = await decide(rules, attempt, at, values);
    const results = ruleResults(rules, d.evaluation, d.signals);
    const { challenge, block } = rules.thresholds;
    if (values.json) {
      const explanation = { time: new Date(at).toISOString(), userId: attempt.userId, action: d.action, score: d.score, thresholds: { challenge, block }, rulesVersion: d.rulesVersion, signals: d.signals, rules: results };
      return { code: 0, stdout: [JSON.stringify(explanation, null, 2)], stderr: [] };
    }
    return {
      code: 0,
      stdout: [
        `${attempt.userId} from ${attempt.ip} at ${new Date(at).toISOString()}, rules ${d.rulesVersion}`,
        `decision: ${d.action}, score ${d.score} (challenge at ${challenge}, block at ${block})`,
        '',
        'signals:',
        ...signalLines(d.signals).map((l) => `  ${l}`),
        '',
        'rules:',
        ...ruleLines(results).map((l) => `  ${l}`),
      ],
      stderr: [],
    };
  } catch (e) {
    if (e instanceof ExplainInputError) return fail(e.message);
    throw e;
  }
}
