import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { quotesBalanced, splitCsvRecord } from './csv.js';
import { ReplayInputError, type LoginEvent, type Problem } from './event.js';
import { parseJsonEvent, type Parsed } from './jsonl.js';
import { parseRbaRecord, rbaLayout, type RbaLayout } from './rba.js';

export interface InputFile {
  /** As the analyst named it: problems are reported with this name. */
  path: string;
  index: number;
}

export interface ReadHooks {
  /** A line that cannot be replayed. Throws to stop the replay; returns to skip the line. */
  problem(p: Problem): void;
  /** Bytes read so far from this file, for the progress bar. */
  bytes(n: number): void;
}

export type Format = 'jsonl' | 'rba-csv';

/**
 * Bytes read at a time, and so roughly the events of a batch (~150 of a generated stream):
 * small enough that a batch's events die young, before the garbage collector moves them to
 * the old generation (1 MiB batches of ~2,400 events outlived several young collections).
 */
const READ_CHUNK = 64 << 10;

/** A quoted CSV field may span lines, but a stray quote must not swallow the rest of a 9 GB file. */
const MAX_RECORD_LINES = 64;

/**
 * Streams one input file as batches of events, in file order, whatever its size. The format
 * is told by the first line: a JSON object (JSONL) or the RBA dataset's CSV header
 * (docs/replay.md#input). An event earlier than the one before it in the same file is a
 * problem (the merge of several files relies on each being in time order).
 */
export async function* readEvents(file: InputFile, hooks: ReadHooks, chunkBytes = READ_CHUNK): AsyncGenerator<LoginEvent[]> {
  let format: Format | null = null;
  let layout: RbaLayout | null = null;
  let pending: { text: string; line: number; lines: number } | null = null;
  let lastTime = -Infinity;
  let lastLine = 0;
  let lineNo = 0;
  let batch: LoginEvent[] = [];

  const report = (line: number, field: string, message: string, kind: Problem['kind'] = 'bad') => hooks.problem({ file: file.path, line, field, message, kind });

  const accept = (parsed: Parsed, line: number) => {
    if ('problem' in parsed) return report(line, parsed.problem.field, parsed.problem.message);
    if (parsed.time < lastTime) {
      return report(line, 'time', `out of order: ${new Date(parsed.time).toISOString()} is earlier than ${new Date(lastTime).toISOString()} on line ${lastLine}; the input must be sorted by time`, 'order');
    }
    lastTime = parsed.time;
    lastLine = line;
    batch.push({ ...parsed, file: file.index, line });
  };

  const onLine = (raw: string, line: number) => {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (format === null) {
      const head = line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
      if (head.trim() === '') return;
      if (head.trimStart().startsWith('{')) format = 'jsonl';
      else {
        layout = rbaLayout(splitCsvRecord(head) ?? []);
        if (!layout) {
          throw new ReplayInputError({ file: file.path, line, field: 'header', message: 'neither a JSON login event (JSONL) nor the RBA dataset CSV header', kind: 'bad' });
        }
        format = 'rba-csv';
        return;
      }
      return accept(parseJsonEvent(head), line);
    }
    if (format === 'jsonl') {
      if (text.trim() !== '') accept(parseJsonEvent(text), line);
      return;
    }
    if (pending) {
      pending.text += `\n${text}`;
      pending.lines++;
    } else {
      if (text === '') return;
      pending = { text, line, lines: 1 };
    }
    if (!quotesBalanced(pending.text)) {
      if (pending.lines < MAX_RECORD_LINES) return;
      const start = pending.line;
      pending = null;
      return report(start, 'row', `a quoted field is not closed within ${MAX_RECORD_LINES} lines`);
    }
    const record = pending;
    pending = null;
    const fields = splitCsvRecord(record.text);
    if (!fields) return report(record.line, 'row', 'a quoted field is not closed');
    accept(parseRbaRecord(fields, layout!), record.line);
  };

  const decoder = new StringDecoder('utf8');
  let carry = '';
  let read = 0;
  for await (const chunk of createReadStream(file.path, { highWaterMark: chunkBytes })) {
    const buf = chunk as Buffer;
    read += buf.length;
    hooks.bytes(read);
    const lines = (carry + decoder.write(buf)).split('\n');
    carry = lines.pop()!;
    for (const l of lines) onLine(l, ++lineNo);
    if (batch.length) {
      yield batch;
      batch = [];
    }
  }
  carry += decoder.end();
  if (carry !== '') onLine(carry, ++lineNo);
  const open = pending as { line: number } | null;
  if (open) report(open.line, 'row', 'a quoted field is not closed at the end of the file');
  if (batch.length) yield batch;
}
