#!/usr/bin/env node
import { main } from './main.js';

main(process.argv.slice(2), { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`) }).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`riskgate: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
