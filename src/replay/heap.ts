import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Below this much heap in use, replay lets V8 collect as it likes. */
const FLOOR_BYTES = 512 << 20;
/** Past the last full collection's live heap, how much garbage may pile up before the next. */
const HEADROOM_BYTES = 192 << 20;

/**
 * Keeps a long replay's heap near what it holds. A replay's state (profiles, caches, the
 * population) lives long, and much of what an event allocates survives a young collection or
 * two (a batch of events, new profile entries), so the old generation fills with garbage, and
 * V8, with gigabytes allowed, grows the heap rather than collect it: a 1M-event replay peaked
 * over 1 GiB while holding ~300 MiB. A fixed `--max-old-space-size` would bound that, but
 * crashes a replay whose state outgrows it. Instead, between batches, when the heap in use
 * passes FLOOR_BYTES and the last full collection's live heap by HEADROOM_BYTES, a full
 * collection runs: the bound follows what the replay really holds, and nothing is refused.
 */
export class HeapKeeper {
  private readonly gc: () => void;
  private limit = FLOOR_BYTES;
  /** Full collections it ran. */
  collections = 0;

  constructor() {
    // The documented way to reach V8's collector without starting node with --expose-gc: a new context sees `gc`.
    setFlagsFromString('--expose-gc');
    this.gc = runInNewContext('gc') as () => void;
  }

  /** Between batches: a full collection when the garbage has piled up. */
  check(): void {
    if (process.memoryUsage().heapUsed < this.limit) return;
    this.gc();
    this.collections++;
    this.limit = Math.max(FLOOR_BYTES, process.memoryUsage().heapUsed + HEADROOM_BYTES);
  }
}
