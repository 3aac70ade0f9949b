import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Most tests wait on git, child processes and servers rather than the CPU: run two files at once even on 2 cores.
    maxWorkers: 2,
  },
});
