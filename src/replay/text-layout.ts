/**
 * Where chart labels go. The report is drawn in Node, which has no font metrics, so a label's
 * width is estimated from its characters, generously: the widths are DejaVu Sans's (the
 * fallback on Linux, wider than Arial, Helvetica or Segoe UI) rounded up per class of
 * character. Labels are then placed where they fit inside the drawing and clear of each other.
 */

const NARROW = new Set(" .,:;'|!ijlIJ`");
const SEMI = new Set('ftr()[]{}-/\\"*');
const SYMBOL = new Set('+=<>~#&^$?_');
const WIDE = new Set('mwMW%@');

/** Upper bound of a label's width in px at `fontPx`. */
export function textWidth(text: string, fontPx: number): number {
  let em = 0;
  for (const c of text) {
    if (NARROW.has(c)) em += 0.34;
    else if (SEMI.has(c)) em += 0.42;
    else if (SYMBOL.has(c)) em += 0.84;
    else if (WIDE.has(c) || c.charCodeAt(0) > 126) em += 1;
    else if (c >= 'A' && c <= 'Z') em += 0.78;
    else em += 0.64;
  }
  return Math.ceil(em * fontPx);
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

const GAP = 4;

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width + GAP && b.x < a.x + a.width + GAP && a.y < b.y + b.height && b.y < a.y + a.height;
}

function inside(b: Box, area: Box): boolean {
  return b.x >= area.x && b.y >= area.y && b.x + b.width <= area.x + area.width && b.y + b.height <= area.y + area.height;
}

/** Where a label goes, as SVG's <text> takes it: its baseline at (x, y), extending right of x (`start`) or left of it (`end`). */
export interface Spot {
  x: number;
  y: number;
  anchor: 'start' | 'end';
}

/**
 * Labels that must not overlap each other, inside one area (the drawing, or its plot). The
 * first spot of a label's candidates that fits is taken; when none does, the first is pushed
 * back inside the area.
 */
export class LabelLayout {
  private readonly taken: Box[] = [];

  constructor(private readonly area: Box) {}

  place(text: string, fontPx: number, spots: readonly Spot[]): Spot {
    const width = textWidth(text, fontPx);
    const boxAt = (s: Spot): Box => ({ x: s.anchor === 'start' ? s.x : s.x - width, y: s.y - fontPx, width, height: fontPx * 1.3 });
    const free = spots.find((s) => inside(boxAt(s), this.area) && !this.taken.some((t) => overlaps(t, boxAt(s))));
    const spot = free ?? this.clamp(spots[0]!, width, fontPx);
    this.taken.push(boxAt(spot));
    return spot;
  }

  private clamp(s: Spot, width: number, fontPx: number): Spot {
    const a = this.area;
    const left = Math.min(Math.max(s.anchor === 'start' ? s.x : s.x - width, a.x), a.x + a.width - width);
    const y = Math.min(Math.max(s.y, a.y + fontPx), a.y + a.height - fontPx * 0.3);
    return { x: left, y, anchor: 'start' };
  }
}
