import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { showDiagnostic, type CommandOutput } from '../command.js';
import type { Diagnostic } from '../rules/diagnostics.js';
import type { ReloadResult } from '../rules/holder.js';
import { PID_FILE, isRiskgate, readPidFile } from './pidfile.js';

/**
 * `<data dir>/reload.json`: the outcome of the last reload asked for by SIGHUP, written by the
 * server for `riskgate reload`, which has no other way to hear back from a signal.
 */
export const RELOAD_FILE = 'reload.json';

export interface ReloadReport {
  /** The server that reloaded. */
  pid: number;
  /** When the SIGHUP arrived (ms since the epoch, the machine's clock): the command waits for a report of its own signal. */
  requestedAt: number;
  ok: boolean;
  /** The version active after the reload (the old one when refused). */
  version: string;
  previous?: string | undefined;
  changes?: string[] | undefined;
  /** Every problem of a refused set. */
  diagnostics?: Diagnostic[] | undefined;
}

export function reloadReport(result: ReloadResult, requestedAt: number, pid = process.pid): ReloadReport {
  return result.ok
    ? { pid, requestedAt, ok: true, version: result.version, previous: result.previous, changes: result.changes }
    : { pid, requestedAt, ok: false, version: result.version, diagnostics: result.diagnostics };
}

/** Writes the report beside its place and renames it, so that a reader never sees half of one. */
export function writeReloadReport(dataDir: string, report: ReloadReport): void {
  const file = join(dataDir, RELOAD_FILE);
  writeFileSync(`${file}.${process.pid}.partial`, `${JSON.stringify(report)}\n`, { mode: 0o600 });
  renameSync(`${file}.${process.pid}.partial`, file);
}

function readReloadReport(dataDir: string): ReloadReport | null {
  try {
    return JSON.parse(readFileSync(join(dataDir, RELOAD_FILE), 'utf8')) as ReloadReport;
  } catch {
    return null;
  }
}

const POLL_MS = 50;

/**
 * `riskgate reload`: sends SIGHUP to the server whose pid file is in the data directory, waits
 * for its report of that reload, and prints what changed (exit 0) or every problem of the
 * refused set (exit 1; the server keeps its rules).
 */
export async function reloadServer(dataDir: string, timeoutMs: number): Promise<CommandOutput> {
  const fail = (line: string): CommandOutput => ({ code: 1, stdout: [], stderr: [`riskgate reload: ${line}`] });
  const pid = readPidFile(dataDir);
  const pidFile = join(dataDir, PID_FILE);
  if (pid === null) return fail(`no server is running on ${dataDir} (no ${pidFile}); give its data directory with --data`);
  if (!isRiskgate(pid)) return fail(`${pidFile} names pid ${pid}, which is not a running riskgate (a server that was killed left it)`);
  const sentAt = Date.now();
  process.kill(pid, 'SIGHUP');
  for (const deadline = sentAt + timeoutMs; Date.now() < deadline; await sleep(POLL_MS)) {
    const r = readReloadReport(dataDir);
    if (r && r.pid === pid && r.requestedAt >= sentAt) return printReport(r);
  }
  return fail(`the server (pid ${pid}) did not report the reload within ${timeoutMs / 1000} s; see its log`);
}

function printReport(r: ReloadReport): CommandOutput {
  if (!r.ok) {
    const problems = r.diagnostics ?? [];
    return {
      code: 1,
      stdout: problems.map(showDiagnostic),
      stderr: [`riskgate reload: refused, ${problems.length} problem${problems.length === 1 ? '' : 's'}; version ${r.version} stays active`],
    };
  }
  const changes = r.changes ?? [];
  if (!changes.length) return { code: 0, stdout: [], stderr: [`riskgate reload: reloaded; no rule, list or policy changed (version ${r.version})`] };
  return { code: 0, stdout: changes, stderr: [`riskgate reload: reloaded; version ${r.previous} → ${r.version}, ${changes.length} change${changes.length === 1 ? '' : 's'}`] };
}
