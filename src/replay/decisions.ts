import { closeSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { LoginEvent } from './event.js';
import type { Verdict } from './tally.js';

const FLUSH_AT = 1 << 20;

interface Part {
  path: string;
  fd: number;
  buffer: string;
}

/**
 * The decisions file (`--out`, docs/replay.md#output): one line per input event, in input order. Events are
 * replayed in time order across files, so each input file's decisions go to a part of their
 * own and the parts are joined in the order the files were given. Everything is written
 * beside the destination under a temporary name and renamed at the end: a stopped replay
 * leaves nothing that looks like a result.
 */
export class DecisionWriter {
  private readonly parts: Part[];
  private readonly partial: string;

  constructor(
    private readonly dest: string,
    files: number,
    scratchDir: string,
  ) {
    this.partial = join(dirname(dest), `.${basename(dest)}.${process.pid}.partial`);
    const path = (i: number) => (files === 1 ? this.partial : join(scratchDir, `decisions-${i}.jsonl`));
    this.parts = Array.from({ length: files }, (_, i) => ({ path: path(i), fd: openSync(path(i), 'w'), buffer: '' }));
  }

  write(ev: LoginEvent, v: Verdict): void {
    const part = this.parts[ev.file]!;
    part.buffer += `${JSON.stringify({ line: ev.line, userId: ev.userId, outcome: ev.outcome, action: v.action, score: v.score, reasons: v.fired })}\n`;
    if (part.buffer.length >= FLUSH_AT) this.flush(part);
  }

  private flush(part: Part): void {
    if (part.buffer) writeSync(part.fd, part.buffer);
    part.buffer = '';
  }

  commit(): void {
    for (const p of this.parts) {
      this.flush(p);
      closeSync(p.fd);
    }
    if (this.parts.length > 1) {
      const out = openSync(this.partial, 'w');
      const buf = Buffer.allocUnsafe(FLUSH_AT);
      for (const p of this.parts) {
        const fd = openSync(p.path, 'r');
        for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) writeSync(out, buf, 0, n);
        closeSync(fd);
        rmSync(p.path);
      }
      closeSync(out);
    }
    renameSync(this.partial, this.dest);
  }

  abort(): void {
    for (const p of this.parts) {
      try {
        closeSync(p.fd);
      } catch {
        // already closed by a commit that failed half-way
      }
      rmSync(p.path, { force: true });
    }
    rmSync(this.partial, { force: true });
  }
}
