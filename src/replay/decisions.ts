import { closeSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { LoginEvent } from './event.js';
import type { Verdict } from './tally.js';

const FLUSH_AT = 1 << 20;

/** What `--out-fields` can add to a decision line, in the order they are written. */
export const OUT_FIELDS = ['file', 'time', 'label', 'ip', 'userAgent', 'deviceId', 'messages'] as const;
export type OutField = (typeof OUT_FIELDS)[number];

const EXTRA: Record<OutField, (ev: LoginEvent, v: Verdict, file: string) => unknown> = {
  file: (_ev, _v, file) => file,
  time: (ev) => new Date(ev.time).toISOString(),
  label: (ev) => ev.label,
  ip: (ev) => ev.ip,
  userAgent: (ev) => ev.userAgent ?? null,
  deviceId: (ev) => ev.deviceId ?? null,
  messages: (_ev, v) => v.messages,
};

/** The fields named in `--out-fields a,b,c`, or the first unknown name. */
export function parseOutFields(list: string): { fields: OutField[] } | { unknown: string } {
  const names = list.split(',').map((n) => n.trim()).filter(Boolean);
  const unknown = names.find((n) => !(OUT_FIELDS as readonly string[]).includes(n));
  if (unknown !== undefined) return { unknown };
  return { fields: OUT_FIELDS.filter((f) => names.includes(f)) };
}

interface Part {
  path: string;
  fd: number;
  /** Encoded lines not yet written: bytes, not a string that grows (a long string of short lines outlives many young collections). */
  buffer: Buffer;
  used: number;
}

/**
 * The decisions file (`--out`, docs/replay.md#output): one line per input event, in input order,
 * with the fields `--out-fields` names after the standard ones. Events are
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
    private readonly files: readonly string[],
    scratchDir: string,
    private readonly fields: readonly OutField[],
  ) {
    this.partial = join(dirname(dest), `.${basename(dest)}.${process.pid}.partial`);
    const path = (i: number) => (files.length === 1 ? this.partial : join(scratchDir, `decisions-${i}.jsonl`));
    this.parts = files.map((_, i) => ({ path: path(i), fd: openSync(path(i), 'w'), buffer: Buffer.allocUnsafe(FLUSH_AT), used: 0 }));
  }

  write(ev: LoginEvent, v: Verdict): void {
    const part = this.parts[ev.file]!;
    const line: Record<string, unknown> = { line: ev.line, userId: ev.userId, outcome: ev.outcome, action: v.action, score: v.score, reasons: v.fired };
    for (const f of this.fields) line[f] = EXTRA[f](ev, v, this.files[ev.file]!);
    const text = `${JSON.stringify(line)}\n`;
    // A UTF-16 unit takes at most 3 bytes in UTF-8.
    if (part.used + 3 * text.length > FLUSH_AT) {
      this.flush(part);
      if (3 * text.length > FLUSH_AT) {
        writeSync(part.fd, text);
        return;
      }
    }
    part.used += part.buffer.write(text, part.used, 'utf8');
  }

  private flush(part: Part): void {
    if (part.used > 0) writeSync(part.fd, part.buffer, 0, part.used);
    part.used = 0;
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
