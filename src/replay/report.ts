import { barChart, curveChart, escapeHtml, rowChart, type Curve, type Marker, type Point, type Series } from './charts.js';
import type { Differences } from './compare.js';
import { LEGIT } from './event.js';
import { atThreshold, type ChartData, type Rate, type RuleCounts, type RuleSummary, type Summary } from './tally.js';
import type { ReplayResult } from './replay.js';
import { count, percent } from './summary.js';

/**
 * `--report report.html`: one self-contained file. No script, no external resource (the
 * content security policy forbids both, so a browser would say if one slipped in); charts
 * are inline SVG drawn from the replay's numbers. With `--compare`, every chart draws both
 * rule sets: A (`--rules`) and B (`--compare`), B in lighter tints.
 */

const COLOR = { allow: '#9aa5b1', challenge: '#e0a030', block: '#d0453a', legit: '#4a7fb0', attack: '#d0453a', fired: '#9cc3e6', decided: '#2f6da3', curve: '#2f6da3', curveB: '#d07a1a' };
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

const esc = escapeHtml;
const rateCell = (r: Rate | undefined) => (r ? `${percent(r.rate)} <small>(${count(r.count)} of ${count(r.of)})</small>` : '–');

/** One rule set's results, as the charts draw them. */
interface Side {
  /** "A" or "B" when comparing, else "". */
  name: string;
  summary: Summary;
  charts: ChartData;
  /** Draws B lighter than A. */
  color(hex: string): string;
}

/** The colour halfway to white. */
function tint(hex: string): string {
  const n = Number.parseInt(hex.slice(1), 16);
  const mix = (shift: number) => Math.round(((n >> shift) & 255) / 2 + 127.5);
  return `#${((mix(16) << 16) | (mix(8) << 8) | mix(0)).toString(16).padStart(6, '0')}`;
}

function sidesOf(r: ReplayResult): Side[] {
  if (!r.compare) return [{ name: '', summary: r.summary, charts: r.charts, color: (c) => c }];
  return [
    { name: 'A', summary: r.summary, charts: r.charts, color: (c) => c },
    { name: 'B', summary: r.compare.summary, charts: r.compare.charts, color: tint },
  ];
}

/** A series name with its rule set when comparing: "attack (B)". */
const named = (side: Side, name: string) => (side.name ? `${name} (${side.name})` : name);

function htmlTable(header: readonly string[], rows: readonly (readonly string[])[], cls = ''): string {
  return `<table class="${cls}"><thead><tr>${header.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function keyFigures(sides: readonly Side[]): string {
  const [a, b] = sides.map((s) => s.summary) as [Summary, Summary | undefined];
  const head = ['', ...sides.map((s) => (s.name ? `${s.name}: ` : '') + esc(s.summary.rules.dir))];
  const rows: string[][] = [
    ['<b>Friction</b>: legitimate successful logins stepped up', rateCell(a.friction), ...(b ? [rateCell(b.friction)] : [])],
    ['<b>Catch</b>: attack successful logins stepped up', rateCell(a.catch), ...(b ? [rateCell(b.catch)] : [])],
  ];
  const kinds = [...new Set([...Object.keys(a.catch.byKind), ...Object.keys(b?.catch.byKind ?? {})])];
  for (const k of kinds) rows.push([`&nbsp;&nbsp;catch: ${esc(k)}`, rateCell(a.catch.byKind[k]), ...(b ? [rateCell(b.catch.byKind[k])] : [])]);
  for (const l of [...new Set([...Object.keys(a.failuresBlocked), ...Object.keys(b?.failuresBlocked ?? {})])]) {
    rows.push([`failed attempts blocked: ${esc(l)}`, rateCell(a.failuresBlocked[l]), ...(b ? [rateCell(b.failuresBlocked[l])] : [])]);
  }
  return htmlTable(head, rows, 'figures');
}

const ruleName = (r: RuleSummary) => esc(r.id) + (r.shadow ? ' <small>(shadow)</small>' : '');

/**
 * Per rule and label, of the logins (failures) a rule fired on, how many were stepped up
 * (blocked), and how many of those it decided: on legitimate logins, the friction a rule
 * takes part in; on an attack's, its part in catching that attack.
 */
function rulesByLabel(s: Summary): string {
  const table = (kind: 'logins' | 'failures', keys: { fired: keyof RuleCounts; up: keyof RuleCounts; decided: keyof RuleCounts }) => {
    const labels = s.labels.filter((l) => l[kind] > 0);
    const rules = s.ruleHits.filter((r) => r[keys.fired] > 0);
    if (!rules.length) return `<p class="note">No rule fired on ${kind === 'logins' ? 'a successful login' : 'a failed attempt'}.</p>`;
    const noun = (n: number) => `${count(n)} ${kind === 'logins' ? 'login' : 'failure'}${n === 1 ? '' : 's'}`;
    const head = ['rule', ...labels.map((l) => `${esc(l.label)}${l.label === LEGIT && kind === 'logins' ? ' (friction)' : ''}<br><small>${noun(l[kind])}</small>`)];
    const cell = (r: RuleSummary, label: string) => {
      const c = r.byLabel[label];
      if (!c || c[keys.fired] === 0) return '–';
      return `${count(c[keys.up])} / ${count(c[keys.fired])}${r.shadow ? '' : ` <small>(${count(c[keys.decided])})</small>`}`;
    };
    return `<div class="wide">${htmlTable(head, rules.map((r) => [ruleName(r), ...labels.map((l) => cell(r, l.label))]), 'by-label')}</div>`;
  };
  return [
    '<h3>Rules by label: successful logins</h3>',
    '<p class="note">Per label: <b>stepped up / fired</b> <small>(decided)</small>. Of the logins a rule fired on, those that were stepped up (challenged or blocked), and in brackets those it decided: without it the action would have been lower. On legitimate logins, the friction the rule takes part in; on an attack\'s, its part in the catch. Shadow rules do not count towards the score.</p>',
    table('logins', { fired: 'fired', up: 'steppedUp', decided: 'decided' }),
    '<h3>Rules by label: failed attempts</h3>',
    '<p class="note">Per label: <b>blocked / fired</b> <small>(decided)</small>. Of the failed attempts a rule fired on, those that were blocked, and in brackets those it decided: without it the attempt would not have been blocked.</p>',
    table('failures', { fired: 'firedOnFailures', up: 'blockedFailures', decided: 'decidedOnFailures' }),
  ].join('\n');
}

function tables(s: Summary): string {
  const a = s.actions;
  const share = (n: number, of: number) => (of ? percent(n / of) : '–');
  return [
    '<h3>Actions</h3>',
    htmlTable(['', 'allow', 'challenge', 'block'], [
      ['logins', count(a.logins.allow), count(a.logins.challenge), count(a.logins.block)],
      ['failures', count(a.failures.allow), '–', count(a.failures.block)],
    ]),
    '<h3>By label</h3>',
    htmlTable(
      ['label', 'logins', 'allow', 'challenge', 'block', 'failures', 'blocked'],
      s.labels.map((l) => [esc(l.label), count(l.logins), share(l.allow, l.logins), share(l.challenge, l.logins), share(l.block, l.logins), count(l.failures), share(l.failuresBlocked, l.failures)]),
    ),
    '<h3>Rules</h3><p class="note">fired: the rule matched; decided: without it the action would have been lower.</p>',
    htmlTable(
      ['rule', 'fired', 'decided', 'fired on failures', 'decided on failures'],
      s.ruleHits.map((r) => [ruleName(r), count(r.fired), r.shadow ? '–' : count(r.decided), count(r.firedOnFailures), r.shadow ? '–' : count(r.decidedOnFailures)]),
    ),
    rulesByLabel(s),
  ].join('\n');
}

const SCORE_BIN = 10;

/** The thresholds as markers: one per value, named by the rule sets that use it when they differ. */
function thresholdMarkers(sides: readonly Side[], bins: number): Marker[] {
  return (['challenge', 'block'] as const).flatMap((kind) => {
    const at = new Map<number, string[]>();
    for (const side of sides) {
      const t = side.summary.rules.thresholds[kind];
      at.set(t, [...(at.get(t) ?? []), side.name]);
    }
    return [...at]
      .filter(([t]) => t / SCORE_BIN <= bins)
      .map(([t, names]) => ({ at: t / SCORE_BIN, label: `${at.size > 1 ? `${names.join(', ')}: ` : ''}${kind} ≥ ${t}` }));
  });
}

function scoreChart(sides: readonly Side[]): string {
  // The axis reaches every threshold, so where blocking starts shows even when no score got there.
  const thresholds = sides.flatMap((s) => [s.summary.rules.thresholds.challenge, s.summary.rules.thresholds.block]);
  const max = Math.max(0, ...thresholds, ...sides.flatMap((s) => [...s.charts.scores.legit.keys(), ...s.charts.scores.attack.keys()]));
  const bins = Math.min(30, Math.floor(max / SCORE_BIN) + 1);
  const share = (m: ChartData['scores']['legit']) => {
    const out = new Array<number>(bins).fill(0);
    let all = 0;
    for (const [score, n] of m) {
      out[Math.min(bins - 1, Math.max(0, Math.floor(score / SCORE_BIN)))]! += n.free + n.forced;
      all += n.free + n.forced;
    }
    return out.map((v) => (all ? (v / all) * 100 : 0));
  };
  const categories = Array.from({ length: bins }, (_, i) => (i === bins - 1 && max >= bins * SCORE_BIN ? `${i * SCORE_BIN}+` : String(i * SCORE_BIN)));
  return barChart({
    id: 'chart-scores',
    label: 'Score distribution of successful logins, as a share of each class (log scale), with the decision thresholds',
    categories,
    series: sides.flatMap((side): Series[] => [
      { name: named(side, 'legitimate'), color: side.color(COLOR.legit), values: share(side.charts.scores.legit) },
      { name: named(side, 'attack'), color: side.color(COLOR.attack), values: share(side.charts.scores.attack) },
    ]),
    log: true,
    unit: '%',
    xLabel: `score (bins of ${SCORE_BIN})`,
    markers: thresholdMarkers(sides, bins),
  });
}

/** Friction and catch as one rule set's challenge threshold moves, its replayed threshold highlighted. */
function thresholdCurveOf(side: Side, color: string, dashed: boolean): Curve | null {
  const t = side.summary.rules.thresholds;
  const c = side.charts;
  const scores = [...new Set([0, ...c.scores.legit.keys(), ...c.scores.attack.keys(), t.challenge])].sort((a, b) => a - b);
  const candidates = [...new Set([...scores, ...scores.map((x) => x + 1)])].sort((a, b) => a - b);
  const points: Point[] = [];
  let current: Point | undefined;
  const who = side.name ? `${side.name}: ` : '';
  for (const th of candidates) {
    const r = atThreshold(c.scores, th, t.block);
    if (r.friction === null || r.catch === null) continue;
    const p = { x: r.friction * 100, y: r.catch * 100, title: `${who}challenge at ${th}: friction ${percent(r.friction)}, catch ${percent(r.catch)}` };
    if (!points.length || points.at(-1)!.x !== p.x || points.at(-1)!.y !== p.y) points.push(p);
    if (th === t.challenge) current = p;
  }
  return points.length ? { name: `${who}${side.summary.rules.dir}`, color, dashed, points, highlight: current } : null;
}

function thresholdCurve(sides: readonly Side[]): string {
  // B dashed, over A: where the two sets agree, both stay visible.
  const curves = sides.map((s, i) => thresholdCurveOf(s, i ? COLOR.curveB : COLOR.curve, i > 0)).filter((c): c is Curve => c !== null);
  if (!curves.length) return '<p class="note">No labelled logins to draw the friction and catch curve from.</p>';
  return (
    curveChart({
      id: 'chart-threshold',
      label: `Friction against catch rate as the challenge threshold moves (the circle${curves.length > 1 ? 's' : ''}: the replayed threshold)`,
      curves,
      xLabel: 'friction: legitimate logins stepped up (log scale)',
      yLabel: 'catch: attack logins stepped up',
      xMin: 0.01,
    }) + '<p class="note">Each point keeps the block threshold, forced actions and the profiles the replay learned; a lower threshold would also have taught profiles less, so points away from the circle are estimates.</p>'
  );
}

function timeline(sides: readonly Side[]): string {
  const hours = [...sides[0]!.charts.timeline.keys()].sort((a, b) => a - b);
  if (!hours.length) return '';
  const daily = hours.at(-1)! - hours[0]! >= 3 * DAY_MS;
  const size = daily ? DAY_MS : HOUR_MS;
  const first = Math.floor(hours[0]! / size) * size;
  const n = Math.floor((hours.at(-1)! - first) / size) + 1;
  const sums = sides.map((side) => {
    const sum = { allow: new Array<number>(n).fill(0), challenge: new Array<number>(n).fill(0), block: new Array<number>(n).fill(0), fa: new Array<number>(n).fill(0), fb: new Array<number>(n).fill(0) };
    for (const [h, b] of side.charts.timeline) {
      const i = Math.floor((h - first) / size);
      sum.allow[i]! += b.allow;
      sum.challenge[i]! += b.challenge;
      sum.block[i]! += b.block;
      sum.fa[i]! += b.failureAllow;
      sum.fb[i]! += b.failureBlock;
    }
    return sum;
  });
  const categories = Array.from({ length: n }, (_, i) => new Date(first + i * size).toISOString().slice(daily ? 5 : 11, daily ? 10 : 16));
  const { first: firstEvent, countedFrom } = sides[0]!.summary.events;
  // Marked only after a warm-up: without one, counting starts with the first event.
  const from = countedFrom && countedFrom !== firstEvent ? Date.parse(countedFrom) : null;
  const markers = from !== null && from < first + n * size ? [{ at: (from - first) / size, label: 'counted from here' }] : [];
  const unit = daily ? 'day' : 'hour';
  const both = sides.length > 1 ? '; left bars A, right bars B' : '';
  return [
    barChart({
      id: 'chart-timeline',
      label: `Successful logins per ${unit} by action${both}`,
      categories,
      series: sides.flatMap((side, k): Series[] => [
        { name: named(side, 'allow'), color: side.color(COLOR.allow), values: sums[k]!.allow, group: side.name },
        { name: named(side, 'challenge'), color: side.color(COLOR.challenge), values: sums[k]!.challenge, group: side.name },
        { name: named(side, 'block'), color: side.color(COLOR.block), values: sums[k]!.block, group: side.name },
      ]),
      stacked: true,
      xLabel: daily ? 'day (UTC, month-day)' : 'hour (UTC)',
      markers,
    }),
    barChart({
      id: 'chart-failures',
      label: `Failed attempts per ${unit}, blocked or not${both}`,
      categories,
      series: sides.flatMap((side, k): Series[] => [
        { name: named(side, 'not blocked'), color: side.color(COLOR.allow), values: sums[k]!.fa, group: side.name },
        { name: named(side, 'blocked'), color: side.color(COLOR.block), values: sums[k]!.fb, group: side.name },
      ]),
      stacked: true,
      xLabel: daily ? 'day (UTC, month-day)' : 'hour (UTC)',
      markers,
    }),
  ].join('\n');
}

const TOP_RULES = 15;

function topRules(sides: readonly Side[]): string {
  const hits = sides.map((s) => new Map(s.summary.ruleHits.filter((r) => !r.shadow).map((r) => [r.id, r])));
  const total = (r: RuleSummary | undefined) => (r ? r.fired + r.firedOnFailures : 0);
  const ids = [...new Set(hits.flatMap((h) => [...h.keys()]))]
    .sort((x, y) => Math.max(...hits.map((h) => total(h.get(y)))) - Math.max(...hits.map((h) => total(h.get(x)))) || x.localeCompare(y))
    .slice(0, TOP_RULES);
  if (!ids.length) return '';
  return rowChart({
    id: 'chart-rules',
    label: 'Top rules: how often each fired, and how often it decided the outcome (logins and failures)',
    rows: ids.map((id) => ({
      label: id,
      values: hits.flatMap((h) => {
        const r = h.get(id);
        return [total(r), r ? r.decided + r.decidedOnFailures : 0];
      }),
    })),
    series: sides.flatMap((side) => [
      { name: named(side, 'fired'), color: side.color(COLOR.fired) },
      { name: named(side, 'decided'), color: side.color(COLOR.decided) },
    ]),
  });
}

function differences(d: Differences): string {
  if (!d.transitions.length) return `<p>The two rule sets decided all ${count(d.compared)} counted events alike.</p>`;
  const out = [`<p>${count(d.differing)} of ${count(d.compared)} counted events were decided differently.</p>`];
  out.push(
    htmlTable(
      ['event', 'from → to', 'count', 'by label'],
      d.transitions.map((t) => [t.outcome === 'success' ? 'login' : 'failure', `${t.from} → ${t.to}`, count(t.count), esc(Object.entries(t.byLabel).map(([l, n]) => `${l} ${count(n)}`).join(', '))]),
    ),
  );
  out.push('<h3>Examples</h3>');
  out.push(
    htmlTable(
      ['where', 'user', 'label', 'from', 'to'],
      d.transitions.flatMap((t) =>
        t.examples.map((e) => [
          `${esc(e.file)}:${e.line}<br><small>${esc(e.time)}</small>`,
          esc(e.userId),
          esc(e.label),
          `${e.from.action} ${e.from.score}<br><small>${esc(e.from.reasons.join(', '))}</small>`,
          `${e.to.action} ${e.to.score}<br><small>${esc(e.to.reasons.join(', '))}</small>`,
        ]),
      ),
      'examples',
    ),
  );
  return out.join('\n');
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2733;margin:24px auto;max-width:820px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #dde3ea;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px;font-variant-numeric:tabular-nums}th,td{padding:3px 10px;border-bottom:1px solid #eef1f4;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}th{font-weight:600;background:#f6f8fa}small{color:#5b6875}
.note{color:#5b6875;font-size:12px;margin:2px 0 12px}.meta{color:#5b6875}
figure.chart{margin:16px 0}figcaption{font-weight:600;margin-bottom:4px}svg{max-width:100%;height:auto;background:#fff}
.grid{stroke:#eef1f4}.tick{font-size:11px;fill:#5b6875}.axis{font-size:12px;fill:#1d2733}.legend{font-size:12px;fill:#1d2733}
.marker{stroke:#1d2733;stroke-dasharray:4 3}.marker-label{font-size:11px;fill:#1d2733;paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.curve{fill:none;stroke-width:2}.current{fill:none;stroke:#1d2733;stroke-width:2.5}
table.examples td,table.by-label td:first-child{text-align:left}table.by-label td{white-space:nowrap}.wide{overflow-x:auto}
`;

const rulesLine = (side: Side) => {
  const r = side.summary.rules;
  return `${side.name ? `${side.name}: ` : ''}rules <code>${esc(r.version)}</code> from <code>${esc(r.dir)}</code> (challenge at ${r.thresholds.challenge}, block at ${r.thresholds.block})`;
};

export function renderReport(r: ReplayResult): string {
  const s = r.summary;
  const o = r.compare?.summary;
  const sides = sidesOf(r);
  const run = r.run;
  const sk = run.skipped;
  const meta = [
    `${count(run.events)} events from ${run.files.map((f) => `<code>${esc(f.path)}</code>`).join(', ')}`,
    ...sides.map(rulesLine),
    `counted ${count(s.events.counted)} events${run.warmupDays > 0 ? ` from ${esc(s.events.countedFrom ?? '')}, after a warm-up of ${run.warmupDays} days` : ''}`,
    run.challengedAttacksPass ? 'challenged logins all pass (attacks too)' : 'challenged legitimate logins pass, challenged attacks fail',
    sk.bad || sk.outOfOrder ? `skipped ${count(sk.bad)} bad lines and ${count(sk.outOfOrder)} out of time order` : '',
  ].filter(Boolean);
  const body = [
    `<h1>riskgate replay</h1><p class="meta">${meta.join('<br>')}</p>`,
    '<h2>Key figures</h2>',
    keyFigures(sides),
    '<h2>Charts</h2>',
    scoreChart(sides),
    thresholdCurve(sides),
    timeline(sides),
    topRules(sides),
    `<h2>Summary: ${esc(s.rules.dir)}</h2>`,
    tables(s),
    ...(r.compare ? [`<h2>Compared with ${esc(o!.rules.dir)}</h2>`, `<p class="meta">rules <code>${esc(o!.rules.version)}</code></p>`, differences(r.compare.differences), tables(o!)] : []),
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>riskgate replay report</title>
<style>${STYLE}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}
