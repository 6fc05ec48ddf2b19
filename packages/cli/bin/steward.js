#!/usr/bin/env -S node --max-semi-space-size=2
// `steward`: runs the compiled CLI (dist/steward.mjs, docs/build.md), building it first when it
// is missing or older than the sources; runs the sources through tsx when no build can be made.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildIsFresh, DEFAULT_OUTDIR } from '../../../scripts/build-state.mjs';

let compiled = buildIsFresh();
if (!compiled) {
  try {
    const { build } = await import('../../../scripts/build.mjs');
    process.stderr.write('steward: compiling into dist/ (sources changed since the last build)\n');
    await build();
    compiled = true;
  } catch (e) {
    const why = String(e instanceof Error ? e.message : e).split('\n')[0];
    process.stderr.write(`steward: no compiled build (${why}); running the TypeScript sources through tsx\n`);
  }
}
if (compiled) await import(pathToFileURL(join(DEFAULT_OUTDIR, 'steward.mjs')).href);
else await import('./steward-src.js');
