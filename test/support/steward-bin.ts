import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '../..');

/** True when the tests run the TypeScript sources through tsx instead of the compiled build. */
export const FROM_SOURCE = process.env.STEWARD_TEST_FROM_SOURCE === '1';

/**
 * The `steward` every test starts: the compiled build in dist/ (what ships; test/build-setup.ts
 * makes it fresh before any test), or with STEWARD_TEST_FROM_SOURCE=1 the sources through tsx.
 * The compiled CLI starts in ~0.25 s against ~1 s through tsx, and the suite starts a few
 * hundred of them.
 */
export const STEWARD_BIN = FROM_SOURCE ? join(REPO, 'packages/cli/bin/steward-src.js') : join(REPO, 'dist/steward.mjs');
