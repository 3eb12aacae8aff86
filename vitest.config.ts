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
    // Test files share their worker's module cache (no re-import of fastify, kysely, SimpleWebAuthn... per
    // file: that was a third of the run). It holds because every test builds its own instances through
    // the composition root and src/ keeps no mutable module state beyond bounded caches; a test that
    // changes process-wide state (a library setting, an environment variable) restores it in a finally.
    poolOptions: { forks: { maxForks: 2, minForks: 1, isolate: false } },
  },
});
