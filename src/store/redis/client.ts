import { Redis } from 'ioredis';

type Command = Parameters<Redis['sendCommand']>[0];
type Stream = Parameters<Redis['sendCommand']>[1];

/**
 * A Redis connection whose commands of one event-loop turn leave in one write: its socket is
 * corked at the turn's first command and uncorked once the turn is over (setImmediate), so the
 * reads and writes of every request of the turn share one write(2) and one round trip, as the
 * SQLite journal's writes share one. Nothing else changes: each command is still sent, ordered,
 * timed out and answered by ioredis, and each caller waits for its own reply (an answer still
 * waits for its writes' reply from Redis).
 *
 * Not ioredis's `enableAutoPipelining`: that crashed riskgate under the kill -9 tests
 * (`TypeError: results[i] is not iterable` thrown from ioredis's autoPipelining.js in a
 * nextTick, so the process exits) and keeps one pipeline in flight at a time; corking keeps
 * every command on ioredis's ordinary path, in order.
 */
export class TurnRedis extends Redis {
  private corked: Redis['stream'] | null = null;
  private readonly uncork = (): void => {
    const s = this.corked;
    this.corked = null;
    s?.uncork();
  };

  override sendCommand(command: Command, stream?: Stream): unknown {
    const s = this.stream;
    if (this.corked === null && s && s.writable) {
      s.cork();
      this.corked = s;
      setImmediate(this.uncork);
    }
    return super.sendCommand(command, stream);
  }
}
