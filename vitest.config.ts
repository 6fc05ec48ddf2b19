import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // Starts PostgreSQL for the store tests when STEWARD_TEST_PG_URL is not set.
    globalSetup: ['test/global-setup.ts', 'test/web-build-setup.ts', 'test/build-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Control planes the tests start do not build a 36 MiB agent package each;
    // test/e2e/install.test.ts turns it on for its own.
    env: { STEWARD_AGENT_PACKAGE_BUILD: 'off' },
  },
});
