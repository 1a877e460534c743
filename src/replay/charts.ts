import { LabelLayout, textWidth, type Spot } from './text-layout.js';

/**
 * Charts as inline SVG strings: the report is one file that needs no network and no script,
 * so every chart is drawn here, in Node, from the numbers. Hover titles carry the values.
 * Margins are sized from the labels they hold, and free labels (markers, the highlighted
 * point) are placed where they fit, so that no label runs off the drawing.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const num = (n: number) => fmt.format(n);
const px = (n: number) => (Math.round(n * 10) / 10).toString();

export interface Series {
  name: string;
  color: string;
  values: readonly number[];
  /** Stacked charts stack the series of one group and draw the groups side by side. */
  group?: string;
}

export interface Marker {
  /** Position on the x axis, in category units (a fraction places it between two bars). */
  at: number;
  label: string;
}

const W = 760;
const H = 300;
const FONT = { tick: 11, axis: 12, legend: 12, marker: 11 } as const;
const EDGE = 6;
const RIGHT = 16;
const BOTTOM = 44;
const LEGEND_ROW = 18;

/** A step of 1, 2 or 5 × 10^n that splits `max` into about `count` intervals. */
function niceStep(max: number, count: number): number {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

/** Legend entries from `left`, wrapped into rows that fit the drawing; its height includes the space above the plot. */
function legend(series: readonly { name: string; color: string }[], left: number): { svg: string; height: number } {
  let x = left;
  let row = 0;
  let svg = '';
  for (const s of series) {
    const w = 14 + textWidth(s.name, FONT.legend);
    if (x + w > W - RIGHT && x > left) {
      row++;
      x = left;
    }
    const y = 8 + row * LEGEND_ROW;
    svg += `<rect x="${x}" y="${y}" width="10" height="10" fill="${s.color}"/><text x="${x + 14}" y="${y + 9}" class="legend">${escapeHtml(s.name)}</text>`;
    x += w + 14;
  }
  return { svg, height: 8 + (row + 1) * LEGEND_ROW + 4 };
}

/** The value axis: its ticks and where a value goes, linear from 0 or logarithmic between powers of ten. */
interface Scale {
  ticks: number[];
  /** 0 for a linear scale; the power of ten below the smallest value for a log scale. */
  lo: number;
  hi: number;
  log: boolean;
  label(v: number): string;
}

function scale(values: readonly number[], log: boolean, unit: string): Scale {
  const max = Math.max(0, ...values);
  const positive = values.filter((v) => v > 0);
  if (log && positive.length) {
    // A whole decade below the smallest value, so that its bar shows even when it is a power of ten.
    const lo = Math.floor(Math.log10(Math.min(...positive)) - 1e-9);
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(max)));
    const ticks = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
    // Exponents, so that 0.001 is written as such and not as 0.0010000000000000002.
    return { ticks: ticks.map((e) => 10 ** e), lo: 10 ** lo, hi: 10 ** hi, log: true, label: (v) => `${v < 1 ? v.toFixed(-Math.round(Math.log10(v))) : num(v)}${unit}` };
  }
  const step = niceStep(max || 1, 5);
  const hi = Math.ceil((max || 1) / step) * step;
  const ticks: number[] = [];
  for (let v = 0; v <= hi + step / 2; v += step) ticks.push(v);
  return { ticks, lo: 0, hi, log: false, label: (v) => `${num(v)}${unit}` };
}

/** Maps a value to its y in a plot from `top`, `height` high. */
function yOf(s: Scale, top: number, height: number): (v: number) => number {
  if (!s.log) return (v) => top + height - (v / s.hi) * height;
  const span = Math.log10(s.hi) - Math.log10(s.lo);
  return (v) => (v <= s.lo ? top + height : top + height - ((Math.log10(v) - Math.log10(s.lo)) / span) * height);
}

function yGrid(s: Scale, y: (v: number) => number, left: number): string {
  return s.ticks
    .map((v) => `<line x1="${left}" x2="${W - RIGHT}" y1="${px(y(v))}" y2="${px(y(v))}" class="grid"/><text x="${left - 6}" y="${px(y(v) + 4)}" class="tick" text-anchor="end">${escapeHtml(s.label(v))}</text>`)
    .join('');
}

/** The left margin that holds the widest tick label (and, beside it, a rotated axis title). */
function leftMargin(s: Scale, title: boolean): number {
  return EDGE + (title ? 20 : 0) + Math.max(...s.ticks.map((v) => textWidth(s.label(v), FONT.tick))) + 8;
}

/** Category labels under the bars, every n-th so that none overlaps its neighbour, none past the edge. */
function xTicks(categories: readonly string[], left: number, band: number): string {
  const widest = Math.max(0, ...categories.map((c) => textWidth(c, FONT.tick)));
  const step = Math.max(1, Math.ceil((widest + 6) / band));
  return categories
    .map((c, i) => {
      if (i % step) return '';
      const half = textWidth(c, FONT.tick) / 2;
      const x = Math.min(Math.max(left + i * band + band / 2, half + 1), W - half - 1);
      return `<text x="${px(x)}" y="${H - BOTTOM + 16}" class="tick" text-anchor="middle">${escapeHtml(c)}</text>`;
    })
    .join('');
}

function axisTitle(text: string, left: number): string {
  return `<text x="${px(left + (W - RIGHT - left) / 2)}" y="${H - 6}" class="axis" text-anchor="middle">${escapeHtml(text)}</text>`;
}

/**
 * Vertical bars per category: side by side, or stacked per group with the groups side by
 * side; optionally on a log scale (not stacked), with vertical markers.
 */
export function barChart(o: {
  id: string;
  label: string;
  categories: readonly string[];
  series: readonly Series[];
  stacked?: boolean;
  /** A logarithmic value axis, so that small shares show beside large ones. */
  log?: boolean;
  unit?: string;
  xLabel: string;
  markers?: readonly Marker[];
}): string {
  const unit = o.unit ?? '';
  const n = o.categories.length;
  const groups = o.stacked ? [...new Set(o.series.map((s) => s.group ?? ''))] : o.series.map((s) => s.name);
  const slotOf = (s: Series, k: number) => (o.stacked ? groups.indexOf(s.group ?? '') : k);
  const heights = o.stacked
    ? o.categories.flatMap((_, i) => groups.map((g) => o.series.filter((s) => (s.group ?? '') === g).reduce((a, s) => a + (s.values[i] ?? 0), 0)))
    : o.series.flatMap((s) => s.values);
  const sc = scale(heights, o.log === true && !o.stacked, unit);
  const left = leftMargin(sc, false);
  const key = legend(o.series, left);
  const top = key.height;
  const plotW = W - left - RIGHT;
  const plotH = H - top - BOTTOM;
  const y = yOf(sc, top, plotH);
  const band = plotW / Math.max(1, n);
  const inner = (band * 0.8) / Math.max(1, groups.length);
  let bars = '';
  o.categories.forEach((cat, i) => {
    const base = new Array<number>(groups.length).fill(0);
    o.series.forEach((s, k) => {
      const v = s.values[i] ?? 0;
      if (v <= 0) return;
      const slot = slotOf(s, k);
      const x = left + i * band + band * 0.1 + slot * inner;
      const from = o.stacked ? base[slot]! : 0;
      const y1 = y(from + v);
      const h = y(from) - y1;
      bars += `<rect class="bar" x="${px(x)}" y="${px(y1)}" width="${px(Math.max(1, inner - 1))}" height="${px(Math.max(0.5, h))}" fill="${s.color}"><title>${escapeHtml(`${cat}: ${s.name} ${num(v)}${unit}`)}</title></rect>`;
      if (o.stacked) base[slot] = from + v;
    });
  });
  const layout = new LabelLayout({ x: left, y: top, width: plotW, height: plotH });
  const markers = (o.markers ?? [])
    .map((m) => {
      const x = left + m.at * band;
      const spots: Spot[] = [0, 1, 2, 3].flatMap((row) => [
        { x: x + 4, y: top + 12 + row * 15, anchor: 'start' as const },
        { x: x - 4, y: top + 12 + row * 15, anchor: 'end' as const },
      ]);
      const p = layout.place(m.label, FONT.marker, spots);
      return `<line class="marker" x1="${px(x)}" x2="${px(x)}" y1="${top}" y2="${top + plotH}"/><text x="${px(p.x)}" y="${px(p.y)}" class="marker-label" text-anchor="${p.anchor}">${escapeHtml(m.label)}</text>`;
    })
    .join('');
  return figure(o.id, o.label, `${key.svg}${yGrid(sc, y, left)}${bars}${markers}${xTicks(o.categories, left, band)}${axisTitle(o.xLabel, left)}`);
}

export interface Point {
  x: number;
  y: number;
  title: string;
}

export interface Curve {
  name: string;
  color: string;
  points: readonly Point[];
  dashed?: boolean;
  /** A point to circle and label (the replayed threshold). */
  highlight?: Point | undefined;
}

/** Curves through points, the x axis logarithmic (friction spans 0.01 % to 100 %), y from 0 to 100 %. */
export function curveChart(o: { id: string; label: string; curves: readonly Curve[]; xLabel: string; yLabel: string; xMin: number }): string {
  const sc: Scale = { ticks: [0, 20, 40, 60, 80, 100], lo: 0, hi: 100, log: false, label: (v) => `${v}%` };
  const left = leftMargin(sc, true);
  const key = o.curves.length > 1 ? legend(o.curves, left) : { svg: '', height: 20 };
  const top = key.height;
  const plotW = W - left - RIGHT;
  const plotH = H - top - BOTTOM;
  const lx = (v: number) => Math.log10(Math.max(o.xMin, v));
  const x = (v: number) => left + ((lx(v) - lx(o.xMin)) / (lx(100) - lx(o.xMin))) * plotW;
  const y = yOf(sc, top, plotH);
  let grid = yGrid(sc, y, left);
  for (let e = Math.ceil(Math.log10(o.xMin)); e <= 2; e++) {
    const v = 10 ** e;
    const label = `${num(v)}%`;
    const half = textWidth(label, FONT.tick) / 2;
    grid += `<line x1="${px(x(v))}" x2="${px(x(v))}" y1="${top}" y2="${top + plotH}" class="grid"/><text x="${px(Math.min(x(v), W - half - 1))}" y="${H - BOTTOM + 16}" class="tick" text-anchor="middle">${label}</text>`;
  }
  const layout = new LabelLayout({ x: left, y: top, width: plotW, height: plotH });
  let curves = '';
  let highlights = '';
  for (const c of o.curves) {
    const path = c.points.map((p, i) => `${i ? 'L' : 'M'}${px(x(p.x))},${px(y(p.y))}`).join(' ');
    curves += `<path class="curve" stroke="${c.color}"${c.dashed ? ' stroke-dasharray="6 4"' : ''} d="${path}"/>`;
    curves += c.points.map((p) => `<circle class="point" fill="${c.color}" cx="${px(x(p.x))}" cy="${px(y(p.y))}" r="3"><title>${escapeHtml(p.title)}</title></circle>`).join('');
    if (!c.highlight) continue;
    const hx = x(c.highlight.x);
    const hy = y(c.highlight.y);
    const spots: Spot[] = [16, -10, 30, -24, 44, -38].flatMap((dy) => [
      { x: hx + 10, y: hy + dy, anchor: 'start' as const },
      { x: hx - 10, y: hy + dy, anchor: 'end' as const },
    ]);
    const p = layout.place(c.highlight.title, FONT.marker, spots);
    highlights += `<circle class="current" cx="${px(hx)}" cy="${px(hy)}" r="7"><title>${escapeHtml(c.highlight.title)}</title></circle><text x="${px(p.x)}" y="${px(p.y)}" class="marker-label" text-anchor="${p.anchor}">${escapeHtml(c.highlight.title)}</text>`;
  }
  const axes = `${axisTitle(o.xLabel, left)}<text transform="translate(${EDGE + 12} ${px(top + plotH / 2)}) rotate(-90)" class="axis" text-anchor="middle">${escapeHtml(o.yLabel)}</text>`;
  return figure(o.id, o.label, `${key.svg}${grid}${curves}${highlights}${axes}`);
}

/** Shortens `text` with an ellipsis until it fits `width` at the tick font. */
function fit(text: string, width: number): string {
  if (textWidth(text, FONT.tick) <= width) return text;
  let t = text;
  while (t.length > 1 && textWidth(`${t}…`, FONT.tick) > width) t = t.slice(0, -1);
  return `${t}…`;
}

/** Horizontal bars, one row per item, the series side by side, each bar with its value. */
export function rowChart(o: { id: string; label: string; rows: readonly { label: string; values: readonly number[] }[]; series: readonly { name: string; color: string }[] }): string {
  const barH = 13;
  const rowH = 8 + barH * o.series.length;
  const key = legend(o.series, EDGE);
  const names = Math.min(Math.max(0, ...o.rows.map((r) => textWidth(r.label, FONT.tick))), W * 0.4);
  const left = EDGE + names + 8;
  const valueW = Math.max(0, ...o.rows.flatMap((r) => r.values.map((v) => textWidth(num(v), FONT.tick))));
  const plotW = W - left - 4 - valueW - EDGE;
  const height = key.height + o.rows.length * rowH + 8;
  const max = Math.max(1, ...o.rows.flatMap((r) => r.values));
  let body = '';
  o.rows.forEach((r, i) => {
    const y0 = key.height + i * rowH;
    const title = r.label === fit(r.label, names) ? '' : `<title>${escapeHtml(r.label)}</title>`;
    body += `<text x="${left - 8}" y="${y0 + rowH / 2 + 4}" class="tick" text-anchor="end">${escapeHtml(fit(r.label, names))}${title}</text>`;
    r.values.forEach((v, k) => {
      const w = (v / max) * plotW;
      const top = y0 + 4 + k * barH;
      body += `<rect class="bar" x="${left}" y="${px(top)}" width="${px(Math.max(v > 0 ? 1 : 0, w))}" height="${barH - 1}" fill="${o.series[k]!.color}"><title>${escapeHtml(`${r.label}: ${o.series[k]!.name} ${num(v)}`)}</title></rect>`;
      if (v > 0) body += `<text x="${px(left + w + 4)}" y="${px(top + barH - 2)}" class="tick">${num(v)}</text>`;
    });
  });
  return figure(o.id, o.label, `${key.svg}${body}`, height);
}

function figure(id: string, label: string, content: string, height = H): string {
  return `<figure class="chart" id="${id}"><figcaption>${escapeHtml(label)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="${escapeHtml(label)}">${content}</svg></figure>`;
}
