import { fileURLToPath } from 'node:url';

/** Set by scripts/build.mjs in a compiled build: the CLI bundle's file name, beside every chunk. */
declare const __STEWARD_CLI_BUNDLE__: string | undefined;

/**
 * This CLI's own entry file, for starting more of itself as child processes: the compiled
 * bundle when this is one, else the entry that runs the sources through tsx.
 */
export const BIN_PATH = fileURLToPath(
  new URL(typeof __STEWARD_CLI_BUNDLE__ === 'string' ? `./${__STEWARD_CLI_BUNDLE__}` : '../bin/steward-src.js', import.meta.url),
);
