import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Transpiles src/ once, for the tests that start the CLI or a server as a separate process.
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/support/event-loop-watchdog.ts'],
    // Browser, PostgreSQL and process-level tests share two cores with the servers they start.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
