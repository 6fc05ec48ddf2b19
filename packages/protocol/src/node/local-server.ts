import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where a control plane keeps its state when no `--data-dir` is given. The server writes
 * these files and local operator tools read them, so both sides take the rule from here.
 */
export function localServerDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.STEWARD_DATA_DIR || join(homedir(), '.steward', 'server');
}

/** `{ "url": … }`, written at start so local tools find the API without flags. */
export const ENDPOINT_FILE = 'endpoint.json';
/** The admin token, written once (mode 0600) on a store's first start. */
export const ADMIN_TOKEN_FILE = 'admin.token';
