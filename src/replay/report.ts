import { barChart, curveChart, escapeHtml, rowChart, type Point } from './charts.js';
import type { Differences } from './compare.js';
import { atThreshold, type ChartData, type Rate, type Summary } from './tally.js';
import type { ReplayResult } from './replay.js';
import { count, percent } from './summary.js';

/**
 * `--report report.html`: one self-contained file. No script, no external resource (the
 * content security policy forbids both, so a browser would say if one slipped in); charts
 * are inline SVG drawn from the replay's numbers.
 */

const COLOR = { allow: '#9aa5b1', challenge: '#e0a030', block: '#d0453a', legit: '#4a7fb0', attack: '#d0453a', fired: '#9cc3e6', decided: '#2f6da3' };
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

const esc = escapeHtml;
const rateCell = (r: Rate | undefined) => (r ? `${percent(r.rate)} <small>(${count(r.count)} of ${count(r.of)})</small>` : '–');

function htmlTable(header: readonly string[], rows: readonly (readonly string[])[], cls = ''): string {
  return `<table class="${cls}"><thead><tr>${header.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function keyFigures(a: Summary, b?: Summary): string {
  const head = ['', esc(a.rules.dir), ...(b ? [esc(b.rules.dir)] : [])];
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
      s.ruleHits.map((r) => [esc(r.id) + (r.shadow ? ' <small>(shadow)</small>' : ''), count(r.fired), r.shadow ? '–' : count(r.decided), count(r.firedOnFailures), r.shadow ? '–' : count(r.decidedOnFailures)]),
    ),
  ].join('\n');
}

function scoreChart(s: Summary, c: ChartData): string {
  const width = 10;
  const max = Math.max(0, ...c.scores.legit.keys(), ...c.scores.attack.keys());
  const bins = Math.min(30, Math.floor(max / width) + 1);
  const share = (m: ChartData['scores']['legit']) => {
    const out = new Array<number>(bins).fill(0);
    let all = 0;
    for (const [score, n] of m) {
      out[Math.min(bins - 1, Math.max(0, Math.floor(score / width)))]! += n.free + n.forced;
      all += n.free + n.forced;
    }
    return out.map((v) => (all ? (v / all) * 100 : 0));
  };
  const categories = Array.from({ length: bins }, (_, i) => (i === bins - 1 && max >= bins * width ? `${i * width}+` : String(i * width)));
  const t = s.rules.thresholds;
  return barChart({
    id: 'chart-scores',
    label: 'Score distribution of successful logins, as a share of each class, with the decision thresholds',
    categories,
    series: [
      { name: 'legitimate', color: COLOR.legit, values: share(c.scores.legit) },
      { name: 'attack', color: COLOR.attack, values: share(c.scores.attack) },
    ],
    unit: '%',
    xLabel: 'score (bins of 10)',
    markers: [
      { at: t.challenge / width, label: `challenge ≥ ${t.challenge}` },
      { at: t.block / width, label: `block ≥ ${t.block}` },
    ].filter((m) => m.at <= bins),
    labelEvery: bins > 16 ? 2 : 1,
  });
}

function thresholdCurve(s: Summary, c: ChartData): string {
  const t = s.rules.thresholds;
  const scores = [...new Set([0, ...c.scores.legit.keys(), ...c.scores.attack.keys(), t.challenge])].sort((a, b) => a - b);
  const candidates = [...new Set([...scores, ...scores.map((x) => x + 1)])].sort((a, b) => a - b);
  const points: Point[] = [];
  let current: Point | undefined;
  for (const th of candidates) {
    const r = atThreshold(c.scores, th, t.block);
    if (r.friction === null || r.catch === null) continue;
    const p = { x: r.friction * 100, y: r.catch * 100, title: `challenge at ${th}: friction ${percent(r.friction)}, catch ${percent(r.catch)}` };
    if (!points.length || points.at(-1)!.x !== p.x || points.at(-1)!.y !== p.y) points.push(p);
    if (th === t.challenge) current = p;
  }
  if (!points.length) return '<p class="note">No labelled logins to draw the friction and catch curve from.</p>';
  return (
    curveChart({
      id: 'chart-threshold',
      label: 'Friction against catch rate as the challenge threshold moves (the circle: the replayed threshold)',
      points,
      highlight: current,
      xLabel: 'friction: legitimate logins stepped up (log scale)',
      yLabel: 'catch: attack logins stepped up',
      xMin: 0.01,
    }) + '<p class="note">Each point keeps the block threshold, forced actions and the profiles the replay learned; a lower threshold would also have taught profiles less, so points away from the circle are estimates.</p>'
  );
}

function timeline(s: Summary, c: ChartData): string {
  const hours = [...c.timeline.keys()].sort((a, b) => a - b);
  if (!hours.length) return '';
  const daily = hours.at(-1)! - hours[0]! >= 3 * DAY_MS;
  const size = daily ? DAY_MS : HOUR_MS;
  const first = Math.floor(hours[0]! / size) * size;
  const n = Math.floor((hours.at(-1)! - first) / size) + 1;
  const sum = { allow: new Array<number>(n).fill(0), challenge: new Array<number>(n).fill(0), block: new Array<number>(n).fill(0), fa: new Array<number>(n).fill(0), fb: new Array<number>(n).fill(0) };
  for (const [h, b] of c.timeline) {
    const i = Math.floor((h - first) / size);
    sum.allow[i]! += b.allow;
    sum.challenge[i]! += b.challenge;
    sum.block[i]! += b.block;
    sum.fa[i]! += b.failureAllow;
    sum.fb[i]! += b.failureBlock;
  }
  const categories = Array.from({ length: n }, (_, i) => new Date(first + i * size).toISOString().slice(daily ? 5 : 11, daily ? 10 : 16));
  const from = s.events.countedFrom ? Date.parse(s.events.countedFrom) : null;
  const markers = from !== null && from > first ? [{ at: (from - first) / size, label: 'counted from here' }] : [];
  const unit = daily ? 'day' : 'hour';
  return [
    barChart({
      id: 'chart-timeline',
      label: `Successful logins per ${unit} by action`,
      categories,
      series: [
        { name: 'allow', color: COLOR.allow, values: sum.allow },
        { name: 'challenge', color: COLOR.challenge, values: sum.challenge },
        { name: 'block', color: COLOR.block, values: sum.block },
      ],
      stacked: true,
      xLabel: daily ? 'day (UTC, month-day)' : 'hour (UTC)',
      markers,
    }),
    barChart({
      id: 'chart-failures',
      label: `Failed attempts per ${unit}, blocked or not`,
      categories,
      series: [
        { name: 'not blocked', color: COLOR.allow, values: sum.fa },
        { name: 'blocked', color: COLOR.block, values: sum.fb },
      ],
      stacked: true,
      xLabel: daily ? 'day (UTC, month-day)' : 'hour (UTC)',
      markers,
    }),
  ].join('\n');
}

function topRules(s: Summary): string {
  const rows = s.ruleHits
    .filter((r) => !r.shadow)
    .slice(0, 15)
    .map((r) => ({ label: r.id, values: [r.fired + r.firedOnFailures, r.decided + r.decidedOnFailures] }));
  if (!rows.length) return '';
  return rowChart({
    id: 'chart-rules',
    label: 'Top rules: how often each fired, and how often it decided the outcome (logins and failures)',
    rows,
    series: [
      { name: 'fired', color: COLOR.fired },
      { name: 'decided', color: COLOR.decided },
    ],
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
.marker{stroke:#1d2733;stroke-dasharray:4 3}.marker-label{font-size:11px;fill:#1d2733}
.curve{fill:none;stroke:#2f6da3;stroke-width:2}.point{fill:#2f6da3}.current{fill:none;stroke:#d0453a;stroke-width:2.5}
table.examples td{text-align:left}
`;

export function renderReport(r: ReplayResult): string {
  const s = r.summary;
  const o = r.compare?.summary;
  const run = r.run;
  const sk = run.skipped;
  const meta = [
    `${count(run.events)} events from ${run.files.map((f) => `<code>${esc(f.path)}</code>`).join(', ')}`,
    `rules <code>${esc(s.rules.version)}</code> from <code>${esc(s.rules.dir)}</code> (challenge at ${s.rules.thresholds.challenge}, block at ${s.rules.thresholds.block})`,
    `counted ${count(s.events.counted)} events${run.warmupDays > 0 ? ` from ${esc(s.events.countedFrom ?? '')}, after a warm-up of ${run.warmupDays} days` : ''}`,
    run.challengedAttacksPass ? 'challenged logins all pass (attacks too)' : 'challenged legitimate logins pass, challenged attacks fail',
    sk.bad || sk.outOfOrder ? `skipped ${count(sk.bad)} bad lines and ${count(sk.outOfOrder)} out of time order` : '',
  ].filter(Boolean);
  const body = [
    `<h1>riskgate replay</h1><p class="meta">${meta.join('<br>')}</p>`,
    '<h2>Key figures</h2>',
    keyFigures(s, o),
    '<h2>Charts</h2>',
    scoreChart(s, r.charts),
    thresholdCurve(s, r.charts),
    timeline(s, r.charts),
    topRules(s),
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
