import { fileURLToPath } from 'node:url';

/** This CLI's own entry file, for starting more of itself as child processes. */
export const BIN_PATH = fileURLToPath(new URL('../bin/steward.js', import.meta.url));
