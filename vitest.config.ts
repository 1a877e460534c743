import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // geoip-lite holds ~190 MB per worker; two workers fit the 2-core machine.
    maxWorkers: 2,
    testTimeout: 20_000,
  },
});
