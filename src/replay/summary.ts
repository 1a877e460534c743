import type { Differences } from './compare.js';
import { LEGIT } from './event.js';
import type { Rate, Summary } from './tally.js';
import type { ReplayResult } from './replay.js';

/** The summary as text tables, for a terminal. `--json` prints the same figures as data. */

const int = new Intl.NumberFormat('en-US');
export const count = (n: number) => int.format(n);
export const percent = (r: number | null) => (r === null ? '–' : `${(r * 100).toFixed(2)}%`);
export const ratio = (r: Rate) => `${percent(r.rate)} (${count(r.count)} of ${count(r.of)})`;
const share = (n: number, of: number) => (of ? percent(n / of) : '–');
const plural = (n: number, noun: string) => `${count(n)} ${noun}${n === 1 ? '' : 's'}`;

/** Columns padded to their widest cell; numbers (and anything ending in %) right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], indent = '  '): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const right = header.map((_, c) => c > 0 && rows.every((r) => /^[-\d.,%–() of]*$/.test(r[c] ?? '')));
  return all.map((r) => indent + r.map((cell, c) => (right[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

function rulesLine(s: Summary): string {
  return `rules ${s.rules.version} from ${s.rules.dir} (challenge at ${s.rules.thresholds.challenge}, block at ${s.rules.thresholds.block})`;
}

/** Friction, catch per attack kind, failures blocked per label: the lines README quotes. */
export function keyFigures(s: Summary): string[] {
  return [
    `Friction: ${ratio(s.friction)} of legitimate successful logins stepped up`,
    `Catch:    ${ratio(s.catch)} of attack successful logins stepped up`,
    ...Object.entries(s.catch.byKind).map(([kind, r]) => `  ${kind}: ${ratio(r)}`),
    'Failed attempts blocked:',
    ...Object.entries(s.failuresBlocked).map(([label, r]) => `  ${label}: ${ratio(r)}`),
  ];
}

function figures(s: Summary): string[] {
  const out: string[] = [];
  const a = s.actions;
  out.push('Actions', ...table(['', 'allow', 'challenge', 'block'], [
    ['logins', count(a.logins.allow), count(a.logins.challenge), count(a.logins.block)],
    ['failures', count(a.failures.allow), '–', count(a.failures.block)],
  ]));
  out.push('', 'By label', ...table(
    ['label', 'logins', 'allow', 'challenge', 'block', 'failures', 'blocked'],
    s.labels.map((l) => [l.label, count(l.logins), share(l.allow, l.logins), share(l.challenge, l.logins), share(l.block, l.logins), count(l.failures), share(l.failuresBlocked, l.failures)]),
  ));
  if (s.labels.length > 0) out.push('', ...keyFigures(s));
  out.push('', 'Rules (fired: the rule matched; decided: without it the action would have been lower)', ...table(
    ['rule', 'fired', 'decided', 'fired on failures', 'decided on failures'],
    s.ruleHits.map((r) => [r.shadow ? `${r.id} (shadow)` : r.id, count(r.fired), r.shadow ? '–' : count(r.decided), count(r.firedOnFailures), r.shadow ? '–' : count(r.decidedOnFailures)]),
  ));
  return out;
}

function side(a: Rate, b: Rate): [string, string] {
  return [ratio(a), ratio(b)];
}

function comparison(a: Summary, b: Summary, d: Differences): string[] {
  const out = ['', `Compared with ${rulesLine(b)}`];
  const rows: string[][] = [['friction (legit logins stepped up)', ...side(a.friction, b.friction)], ['catch (attack logins stepped up)', ...side(a.catch, b.catch)]];
  const kinds = [...new Set([...Object.keys(a.catch.byKind), ...Object.keys(b.catch.byKind)])];
  const none: Rate = { count: 0, of: 0, rate: null };
  for (const k of kinds) rows.push([`  catch: ${k}`, ...side(a.catch.byKind[k] ?? none, b.catch.byKind[k] ?? none)]);
  for (const l of [...new Set([...Object.keys(a.failuresBlocked), ...Object.keys(b.failuresBlocked)])]) {
    rows.push([`failures blocked: ${l}`, ...side(a.failuresBlocked[l] ?? none, b.failuresBlocked[l] ?? none)]);
  }
  out.push(...table(['', a.rules.dir, b.rules.dir], rows));
  out.push('', `Different decisions: ${count(d.differing)} of ${count(d.compared)} counted events`);
  for (const t of d.transitions) {
    const labels = Object.entries(t.byLabel).map(([l, n]) => `${l} ${count(n)}`).join(', ');
    out.push(`  ${t.outcome === 'success' ? 'login  ' : 'failure'} ${t.from} → ${t.to}: ${count(t.count)} (${labels})`);
    for (const e of t.examples) {
      out.push(`      ${e.file}:${e.line} ${e.userId} ${e.label}: ${e.from.score} [${e.from.reasons.join(', ')}] → ${e.to.score} [${e.to.reasons.join(', ')}]`);
    }
  }
  return out;
}

export function formatSummary(r: ReplayResult): string {
  const s = r.summary;
  const e = s.events;
  const out: string[] = [];
  out.push(`Replayed ${count(r.run.events)} events from ${r.run.files.map((f) => f.path).join(', ')} in ${r.run.seconds.toFixed(1)} s (${count(Math.round(r.run.eventsPerSecond))} events/s, ${r.run.cpuSeconds.toFixed(1)} s of CPU, peak memory ${count(Math.round(r.run.peakRssMb))} MiB)`);
  out.push(rulesLine(s));
  out.push(
    `Counted ${plural(e.counted, 'event')} (${plural(e.logins, 'login')}, ${plural(e.failures, 'failure')})` +
      (r.run.warmupDays > 0 ? ` from ${e.countedFrom}, after a warm-up of ${r.run.warmupDays} days` : '') +
      `; challenged ${r.run.challengedAttacksPass ? 'logins all pass' : 'legitimate logins pass, attacks fail'}`,
  );
  const sk = r.run.skipped;
  if (sk.bad || sk.outOfOrder) {
    out.push(`Skipped ${plural(sk.bad, 'bad line')} and ${plural(sk.outOfOrder, 'line')} out of time order${sk.bad + sk.outOfOrder > sk.examples.length ? `; the first ${sk.examples.length}:` : ':'}`);
    for (const x of sk.examples) out.push(`  ${x}`);
  }
  out.push('', ...figures(s));
  if (r.compare) out.push(...comparison(s, r.compare.summary, r.compare.differences));
  return out.join('\n');
}

/** `--json`: the same figures as data; chart data stays in the report. */
export function summaryJson(r: ReplayResult): unknown {
  return {
    run: r.run,
    summary: r.summary,
    ...(r.compare ? { compare: { summary: r.compare.summary, differences: r.compare.differences } } : {}),
  };
}
