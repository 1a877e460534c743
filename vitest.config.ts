import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup-env.ts'],
    // Two workers fit the 2-core machine.
    maxWorkers: 2,
    testTimeout: 30_000,
    // Hooks start servers and stores; on a busy 2-core machine that can take longer than the 10 s default.
    hookTimeout: 30_000,
  },
});
