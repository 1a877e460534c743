/**
 * What a known user costs the server in memory: `node --expose-gc build/bench/bench/profile-memory.js [users]`.
 * Teaches a SQLite store two weeks of generated history, then reads every profile into memory
 * the way the server's cache holds them, and prints the heap per profile and the document sizes.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseProfile, type Profile } from '../src/profile/profile.js';
import { warmState, workload } from './workload.js';

const users = Number(process.argv[2] ?? 2000);
const work = workload(users, 0);
const state = await warmState('sqlite', work.history, '');
const db = new Database(join(state.dir, 'riskgate.db'), { readonly: true });
const rows = db.prepare('SELECT user_id, doc FROM profiles').all() as { user_id: string; doc: string }[];
db.close();
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
gc();
const before = process.memoryUsage().heapUsed;
const held: Profile[] = rows.map((r) => parseProfile(r.doc, r.user_id));
gc();
const after = process.memoryUsage().heapUsed;
const docBytes = rows.reduce((n, r) => n + r.doc.length, 0);
console.log(`${held.length} profiles: ${((after - before) / held.length / 1024).toFixed(1)} KiB of heap each, documents ${(docBytes / rows.length / 1024).toFixed(1)} KiB on average`);
rmSync(state.dir, { recursive: true, force: true });
