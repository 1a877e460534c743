import type { Progress } from './replay.js';

const WIDTH = 28;
const EVERY_MS = 200;

function size(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let n = bytes;
  while (n >= 1000 && i < units.length - 1) (n /= 1000), i++;
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h ? `${h}:${String(m).padStart(2, '0')}` : m}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * A progress bar on a terminal's stderr: bytes read of the inputs, events per second, time
 * left. Drawn at most five times a second; nothing at all when stderr is not a terminal, so
 * logs and pipes stay clean.
 */
export class ProgressBar {
  private last = 0;
  private readonly started = Date.now();
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  readonly update = (p: Progress): void => {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < EVERY_MS) return;
    this.last = now;
    const done = p.totalBytes ? Math.min(1, p.bytes / p.totalBytes) : 0;
    const filled = Math.round(done * WIDTH);
    const elapsed = (now - this.started) / 1000;
    const rate = elapsed > 0 ? p.events / elapsed : 0;
    const left = done > 0 ? (elapsed * (1 - done)) / done : Infinity;
    const line = `replay ${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)} ${(done * 100).toFixed(0).padStart(3)}%  ${size(p.bytes)}/${size(p.totalBytes)}  ${Math.round(rate).toLocaleString('en-US')} events/s  ${clock(left)} left`;
    this.stream.write(`\r${line.slice(0, (this.stream.columns || 120) - 1)}\x1b[K`);
    this.drawn = true;
  };

  /** Clears the bar so that what follows starts on a clean line. */
  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
