import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // Starts PostgreSQL for the store tests when STEWARD_TEST_PG_URL is not set.
    globalSetup: ['test/global-setup.ts', 'test/web-build-setup.ts', 'test/build-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one fewer than the CPUs: one file at a time on a 2-core machine. Most
    // files wait on processes they started (agents, control planes, nginx, Chromium), so at
    // least two at once keep both cores busy; every test owns its ports, data dirs and
    // databases. VITEST_MAX_WORKERS overrides it.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Control planes the tests start do not build a 36 MiB agent package each;
    // test/e2e/install.test.ts turns it on for its own.
    env: { STEWARD_AGENT_PACKAGE_BUILD: 'off' },
  },
});
