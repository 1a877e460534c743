/**
 * Charts as inline SVG strings: the report is one file that needs no network and no script,
 * so every chart is drawn here, in Node, from the numbers. Hover titles carry the values.
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
}

export interface Marker {
  /** Position on the x axis, in category units (a fraction places it between two bars). */
  at: number;
  label: string;
}

const W = 760;
const H = 300;
const M = { top: 28, right: 16, bottom: 44, left: 58 };

/** A step of 1, 2 or 5 × 10^n that splits `max` into about `count` intervals. */
function niceStep(max: number, count: number): number {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

function legend(series: readonly { name: string; color: string }[]): string {
  let x = M.left;
  return series
    .map((s) => {
      const item = `<rect x="${x}" y="8" width="10" height="10" fill="${s.color}"/><text x="${x + 14}" y="17" class="legend">${escapeHtml(s.name)}</text>`;
      x += 24 + s.name.length * 7;
      return item;
    })
    .join('');
}

function yAxis(max: number, plotH: number, unit: string): { svg: string; top: number } {
  const step = niceStep(max || 1, 5);
  const top = Math.ceil((max || 1) / step) * step;
  let svg = '';
  for (let v = 0; v <= top + step / 2; v += step) {
    const y = M.top + plotH - (v / top) * plotH;
    svg += `<line x1="${M.left}" x2="${W - M.right}" y1="${px(y)}" y2="${px(y)}" class="grid"/><text x="${M.left - 6}" y="${px(y + 4)}" class="tick" text-anchor="end">${num(v)}${unit}</text>`;
  }
  return { svg, top };
}

/** Vertical bars per category, side by side or stacked, with optional vertical markers. */
export function barChart(o: {
  id: string;
  label: string;
  categories: readonly string[];
  series: readonly Series[];
  stacked?: boolean;
  unit?: string;
  xLabel: string;
  markers?: readonly Marker[];
  /** Label every n-th category on the x axis. */
  labelEvery?: number;
}): string {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const n = o.categories.length;
  const totals = o.categories.map((_, i) => (o.stacked ? o.series.reduce((a, s) => a + (s.values[i] ?? 0), 0) : Math.max(0, ...o.series.map((s) => s.values[i] ?? 0))));
  const { svg: grid, top } = yAxis(Math.max(0, ...totals), plotH, o.unit ?? '');
  const band = plotW / Math.max(1, n);
  const inner = o.stacked ? band * 0.8 : (band * 0.8) / Math.max(1, o.series.length);
  const y = (v: number) => M.top + plotH - (v / top) * plotH;
  let bars = '';
  o.categories.forEach((cat, i) => {
    let base = 0;
    o.series.forEach((s, k) => {
      const v = s.values[i] ?? 0;
      if (v <= 0) return;
      const x = M.left + i * band + band * 0.1 + (o.stacked ? 0 : k * inner);
      const y0 = y(o.stacked ? base + v : v);
      const h = (v / top) * plotH;
      bars += `<rect class="bar" x="${px(x)}" y="${px(y0)}" width="${px(Math.max(1, inner - 1))}" height="${px(Math.max(0.5, h))}" fill="${s.color}"><title>${escapeHtml(`${cat}: ${s.name} ${num(v)}${o.unit ?? ''}`)}</title></rect>`;
      if (o.stacked) base += v;
    });
  });
  const every = o.labelEvery ?? Math.max(1, Math.ceil(n / 16));
  const xTicks = o.categories
    .map((c, i) => (i % every === 0 ? `<text x="${px(M.left + i * band + band / 2)}" y="${H - M.bottom + 16}" class="tick" text-anchor="middle">${escapeHtml(c)}</text>` : ''))
    .join('');
  const markers = (o.markers ?? [])
    .map((m) => {
      const x = M.left + m.at * band;
      return `<line class="marker" x1="${px(x)}" x2="${px(x)}" y1="${M.top}" y2="${M.top + plotH}"/><text x="${px(x + 4)}" y="${M.top + 12}" class="marker-label">${escapeHtml(m.label)}</text>`;
    })
    .join('');
  return figure(o.id, o.label, `${legend(o.series)}${grid}${bars}${markers}${xTicks}<text x="${M.left + plotW / 2}" y="${H - 6}" class="axis" text-anchor="middle">${escapeHtml(o.xLabel)}</text>`);
}

export interface Point {
  x: number;
  y: number;
  title: string;
}

/** A curve through points, the x axis logarithmic (friction spans 0.01 % to 100 %), one point highlighted. */
export function curveChart(o: { id: string; label: string; points: readonly Point[]; highlight?: Point | undefined; xLabel: string; yLabel: string; xMin: number }): string {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const lx = (v: number) => Math.log10(Math.max(o.xMin, v));
  const x = (v: number) => M.left + ((lx(v) - lx(o.xMin)) / (lx(100) - lx(o.xMin))) * plotW;
  const y = (v: number) => M.top + plotH - (v / 100) * plotH;
  let grid = '';
  for (let v = 0; v <= 100; v += 20) grid += `<line x1="${M.left}" x2="${W - M.right}" y1="${px(y(v))}" y2="${px(y(v))}" class="grid"/><text x="${M.left - 6}" y="${px(y(v) + 4)}" class="tick" text-anchor="end">${v}%</text>`;
  for (let e = Math.ceil(Math.log10(o.xMin)); e <= 2; e++) {
    const v = 10 ** e;
    grid += `<line x1="${px(x(v))}" x2="${px(x(v))}" y1="${M.top}" y2="${M.top + plotH}" class="grid"/><text x="${px(x(v))}" y="${H - M.bottom + 16}" class="tick" text-anchor="middle">${num(v)}%</text>`;
  }
  const path = o.points.map((p, i) => `${i ? 'L' : 'M'}${px(x(p.x))},${px(y(p.y))}`).join(' ');
  const dots = o.points.map((p) => `<circle class="point" cx="${px(x(p.x))}" cy="${px(y(p.y))}" r="3"><title>${escapeHtml(p.title)}</title></circle>`).join('');
  const h = o.highlight
    ? `<circle class="current" cx="${px(x(o.highlight.x))}" cy="${px(y(o.highlight.y))}" r="7"><title>${escapeHtml(o.highlight.title)}</title></circle><text x="${px(x(o.highlight.x) + 10)}" y="${px(y(o.highlight.y) + 16)}" class="marker-label">${escapeHtml(o.highlight.title)}</text>`
    : '';
  const axes = `<text x="${M.left + plotW / 2}" y="${H - 6}" class="axis" text-anchor="middle">${escapeHtml(o.xLabel)}</text><text transform="translate(14 ${M.top + plotH / 2}) rotate(-90)" class="axis" text-anchor="middle">${escapeHtml(o.yLabel)}</text>`;
  return figure(o.id, o.label, `${grid}<path class="curve" d="${path}"/>${dots}${h}${axes}`);
}

/** Horizontal bars, one row per item, the series side by side. */
export function rowChart(o: { id: string; label: string; rows: readonly { label: string; values: readonly number[] }[]; series: readonly { name: string; color: string }[] }): string {
  const rowH = 22;
  const left = 260;
  const height = M.top + o.rows.length * rowH + 24;
  const plotW = W - left - 60;
  const max = Math.max(1, ...o.rows.flatMap((r) => r.values));
  const barH = (rowH - 6) / o.series.length;
  let body = '';
  o.rows.forEach((r, i) => {
    const y0 = M.top + i * rowH;
    body += `<text x="${left - 8}" y="${y0 + rowH / 2 + 4}" class="tick" text-anchor="end">${escapeHtml(r.label)}</text>`;
    r.values.forEach((v, k) => {
      const w = (v / max) * plotW;
      body += `<rect class="bar" x="${left}" y="${px(y0 + 3 + k * barH)}" width="${px(Math.max(v > 0 ? 1 : 0, w))}" height="${px(barH - 1)}" fill="${o.series[k]!.color}"><title>${escapeHtml(`${r.label}: ${o.series[k]!.name} ${num(v)}`)}</title></rect>`;
      if (v > 0) body += `<text x="${px(left + w + 4)}" y="${px(y0 + 3 + (k + 1) * barH - 2)}" class="tick">${num(v)}</text>`;
    });
  });
  return figure(o.id, o.label, `${legend(o.series)}${body}`, height);
}

function figure(id: string, label: string, content: string, height = H): string {
  return `<figure class="chart" id="${id}"><figcaption>${escapeHtml(label)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="${escapeHtml(label)}">${content}</svg></figure>`;
}
