import { ensureFreshBuild } from '../scripts/build-state.mjs';
import { FROM_SOURCE } from './support/steward-bin.js';

/**
 * Makes dist/ a build of the sources as they are now, once before any test, since the tests
 * run the compiled `steward` (test/support/steward-bin.ts). esbuild takes a few seconds.
 */
export default async function setup(): Promise<void> {
  if (FROM_SOURCE) return;
  await ensureFreshBuild();
}
