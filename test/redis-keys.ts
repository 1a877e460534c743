import { Redis } from 'ioredis';

/** Every key under `prefix` (SCAN, never KEYS: KEYS would stop a shared Redis while it runs). */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    out.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return out;
}

/** Deletes every key under `prefix`, on a connection of its own (tests and benches clean up after themselves); returns how many. */
export async function deleteKeysUnder(url: string, prefix: string): Promise<number> {
  const c = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    const keys = await keysUnder(c, prefix);
    for (let i = 0; i < keys.length; i += 1000) await c.unlink(...keys.slice(i, i + 1000));
    return keys.length;
  } finally {
    c.disconnect();
  }
}
