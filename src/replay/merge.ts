import type { LoginEvent } from './event.js';

interface Cursor {
  source: AsyncIterator<LoginEvent[]>;
  batch: LoginEvent[];
  i: number;
}

/** Time, then the order the files were given in, then the line: ties replay in input order. */
function before(a: LoginEvent, b: LoginEvent): boolean {
  return a.time !== b.time ? a.time < b.time : a.file !== b.file ? a.file < b.file : a.line < b.line;
}

/** Moves a cursor to its next event, reading the next batch when needed; false at the end. */
async function ready(c: Cursor): Promise<boolean> {
  while (c.i >= c.batch.length) {
    const r = await c.source.next();
    if (r.done) return false;
    c.batch = r.value;
    c.i = 0;
  }
  return true;
}

/**
 * k-way merge of streams that are each in time order into one stream in time order, with a
 * binary heap of the streams' next events. Batches keep the per-event cost to a comparison.
 */
export async function* mergeByTime(sources: AsyncIterator<LoginEvent[]>[], batchSize = 4096): AsyncGenerator<LoginEvent[]> {
  try {
    yield* merge(sources, batchSize);
  } finally {
    // Stopped early (a bad line, an error downstream): close every file, not only the one at fault.
    await Promise.all(sources.map((s) => s.return?.()));
  }
}

async function* merge(sources: AsyncIterator<LoginEvent[]>[], batchSize: number): AsyncGenerator<LoginEvent[]> {
  if (sources.length === 1) {
    for (let r = await sources[0]!.next(); !r.done; r = await sources[0]!.next()) yield r.value;
    return;
  }
  const heap: Cursor[] = [];
  const head = (c: Cursor) => c.batch[c.i]!;
  const up = (k: number) => {
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!before(head(heap[k]!), head(heap[p]!))) break;
      [heap[k], heap[p]] = [heap[p]!, heap[k]!];
      k = p;
    }
  };
  const down = (k: number) => {
    for (;;) {
      const l = 2 * k + 1;
      const r = l + 1;
      let m = k;
      if (l < heap.length && before(head(heap[l]!), head(heap[m]!))) m = l;
      if (r < heap.length && before(head(heap[r]!), head(heap[m]!))) m = r;
      if (m === k) return;
      [heap[k], heap[m]] = [heap[m]!, heap[k]!];
      k = m;
    }
  };
  for (const source of sources) {
    const c: Cursor = { source, batch: [], i: 0 };
    if (await ready(c)) {
      heap.push(c);
      up(heap.length - 1);
    }
  }
  let out: LoginEvent[] = [];
  while (heap.length) {
    const c = heap[0]!;
    out.push(head(c));
    c.i++;
    if (await ready(c)) down(0);
    else {
      const last = heap.pop()!;
      if (heap.length) {
        heap[0] = last;
        down(0);
      }
    }
    if (out.length >= batchSize) {
      yield out;
      out = [];
    }
  }
  if (out.length) yield out;
}
