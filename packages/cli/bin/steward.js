#!/bin/sh
":" //; # The lines starting with ":" run in sh and are no-op strings to node. They exec node with
":" //; # the control plane's flags (scripts/runtime-tuning.mjs) for the long-running commands
":" //; # (server, up, agent) and with none for the rest: any V8 flag makes node reject the code
":" //; # cache of its built-in modules, ~36 ms of CPU on every short call (docs/build.md).
":" //; cmd=; skip=; for a; do if [ -n "$skip" ]; then skip=; elif [ "$a" = --server ] || [ "$a" = --token ] || [ "$a" = --ca-file ]; then skip=1; else case "$a" in -*) ;; *) cmd=$a; break ;; esac; fi; done
":" //; case "$cmd" in server|up|agent) exec node --max-semi-space-size=2 "$0" "$@" ;; esac; exec node "$0" "$@"
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
