import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RuleSet } from '../rules/ruleset.js';
import { DecisionWriter, type OutField } from './decisions.js';
import { DifferenceLog, type Differences } from './compare.js';
import { formatProblem, ReplayInputError, type Problem } from './event.js';
import { HeapKeeper } from './heap.js';
import { Lane } from './lane.js';
import { readEvents } from './input.js';
import { mergeByTime } from './merge.js';
import { MeasureWindow, type ChartData, type Summary } from './tally.js';
import { RecordedPlaces, type GeoSource } from './places.js';

export interface ReplayOptions {
  files: readonly string[];
  rules: RuleSet;
  /** A second rule set, replayed over the same events in the same pass with its own state. */
  compare?: RuleSet | undefined;
  /** Where the decisions go (JSONL, one line per event: docs/replay.md#output); written whole at the end, or not at all. */
  out?: string | undefined;
  /** Fields added to each decision line, after the standard ones. */
  outFields?: readonly OutField[] | undefined;
  /** Count and report bad lines instead of stopping at the first. */
  skipBad?: boolean | undefined;
  /** A challenged attack passes the challenge (phished code, SIM swap) and teaches the profile. */
  challengedAttacksPass?: boolean | undefined;
  /** Events in the first `warmupMs` are replayed (profiles learn) but not counted. */
  warmupMs?: number | undefined;
  /** Where the replay keeps its state; a new temporary directory by default, removed at the end. */
  stateDir?: string | undefined;
  /** Where addresses are located: the geolocation database (default), or the input's own columns. */
  geo?: GeoSource | undefined;
  onProgress?: ((p: Progress) => void) | undefined;
  /** Stops the replay (Ctrl-C): it throws the signal's reason and leaves nothing behind. */
  signal?: AbortSignal | undefined;
}

export interface Progress {
  bytes: number;
  totalBytes: number;
  events: number;
}

export interface RunSummary {
  files: { path: string; events: number }[];
  events: number;
  skipped: { bad: number; outOfOrder: number; examples: string[] };
  challengedAttacksPass: boolean;
  warmupDays: number;
  seconds: number;
  eventsPerSecond: number;
  /** CPU time the process has used (user and system, all threads), start-up included. */
  cpuSeconds: number;
  /** The process's peak resident memory so far, in MiB. */
  peakRssMb: number;
}

export interface ReplayResult {
  run: RunSummary;
  summary: Summary;
  charts: ChartData;
  compare?: { summary: Summary; charts: ChartData; differences: Differences };
}

const DAY_MS = 86_400_000;
const MAX_EXAMPLES = 10;

/**
 * Replays recorded logins through the engine, in time order across all files, and measures
 * what the rules did. Throws ReplayInputError at the first bad line unless `skipBad`; then
 * nothing is written.
 */
export async function replay(o: ReplayOptions): Promise<ReplayResult> {
  const started = performance.now();
  const sizes = await Promise.all(o.files.map(async (f) => (await stat(f)).size));
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  const bytes = o.files.map(() => 0);
  const perFile = o.files.map(() => 0);
  const skipped = { bad: 0, outOfOrder: 0, examples: [] as string[] };
  const onProblem = (p: Problem) => {
    if (!o.skipBad) throw new ReplayInputError(p);
    if (p.kind === 'order') skipped.outOfOrder++;
    else skipped.bad++;
    if (skipped.examples.length < MAX_EXAMPLES) skipped.examples.push(formatProblem(p));
  };

  const ownState = o.stateDir === undefined;
  const stateDir = o.stateDir ?? (await mkdtemp(join(tmpdir(), 'riskgate-replay-')));
  const window = new MeasureWindow(o.warmupMs ?? 0);
  const attacksPass = o.challengedAttacksPass ?? false;
  const lanes: Lane[] = [];
  const writer = o.out ? new DecisionWriter(o.out, o.files, stateDir, o.outFields ?? []) : null;
  const places = o.geo === 'csv' ? new RecordedPlaces() : null;
  const heap = new HeapKeeper();
  let events = 0;
  try {
    for (const [i, rules] of [o.rules, o.compare].entries()) {
      if (rules) lanes.push(new Lane(rules, window, attacksPass, places?.lookup, join(stateDir, `profiles-${i}.db`)));
    }
    const [main, other] = lanes as [Lane, Lane | undefined];
    const differences = other ? new DifferenceLog((i) => o.files[i]!) : null;
    const sources = o.files.map((path, index) => readEvents({ path, index }, { problem: onProblem, bytes: (n) => (bytes[index] = n) }));
    for await (const batch of mergeByTime(sources)) {
      for (const ev of batch) {
        places?.at(ev);
        const counted = window.observe(ev.time);
        const a = main.step(ev);
        main.tally.add(ev, a, counted);
        if (other) {
          const b = other.step(ev);
          other.tally.add(ev, b, counted);
          if (counted) differences!.add(ev, a, b);
        }
        writer?.write(ev, a);
        perFile[ev.file]!++;
      }
      events += batch.length;
      heap.check();
      o.signal?.throwIfAborted();
      o.onProgress?.({ bytes: bytes.reduce((x, y) => x + y, 0), totalBytes, events });
    }
    writer?.commit();

    const seconds = (performance.now() - started) / 1000;
    const describe = (r: RuleSet): Summary['rules'] => ({ version: r.version, dir: r.dir, thresholds: { ...r.thresholds } });
    return {
      run: {
        files: o.files.map((path, i) => ({ path, events: perFile[i]! })),
        events,
        skipped,
        challengedAttacksPass: attacksPass,
        warmupDays: (o.warmupMs ?? 0) / DAY_MS,
        seconds,
        eventsPerSecond: seconds > 0 ? events / seconds : 0,
        cpuSeconds: cpuSeconds(),
        peakRssMb: peakRssMb(),
      },
      summary: main.tally.summary(describe(o.rules)),
      charts: main.tally.charts(),
      ...(other && o.compare ? { compare: { summary: other.tally.summary(describe(o.compare)), charts: other.tally.charts(), differences: differences!.result() } } : {}),
    };
  } catch (e) {
    writer?.abort();
    throw e;
  } finally {
    for (const lane of lanes) lane.close();
    if (ownState) await rm(stateDir, { recursive: true, force: true });
  }
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * This process's peak resident memory, in MiB. On Linux from VmHWM: getrusage's maxRSS
 * survives exec, so a replay started by a large parent (the bench) would report the
 * parent's peak as its own.
 */
function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}
