/**
 * Node module hooks that run riskgate's TypeScript source as it is, for tests that need
 * `riskgate serve` in a process of its own (to kill it): each .ts file goes through the same
 * transform as under vitest (vite's, types stripped), and src's imports of "./x.js" find
 * "./x.ts". Register with module.register(); test/instances.test.ts does.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transformWithOxc } from 'vite';

export async function resolve(specifier, context, next) {
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const ts = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
    if (existsSync(fileURLToPath(ts))) return { url: ts.href, shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const file = fileURLToPath(url);
  const { code } = await transformWithOxc(await readFile(file, 'utf8'), file, { lang: 'ts' });
  return { format: 'module', source: code, shortCircuit: true };
}
