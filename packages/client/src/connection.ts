import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN_FILE, ENDPOINT_FILE, localServerDataDir } from '@steward/protocol/node';
import { ConnectionConfigError } from './connection-error.js';

export interface ConnectionFlags {
  server?: string;
  token?: string;
  /** A PEM CA to trust for an https server (`--ca-file`). */
  caFile?: string;
}

export interface Connection {
  baseUrl: string;
  token: string;
  /** Where the URL came from, for messages: `--server`, `STEWARD_SERVER` or the endpoint file path. */
  serverSource: string;
  tokenSource: string;
  /** The CA to trust: `--ca-file`, `STEWARD_CA_FILE`, or the local server's own (named in its endpoint file). */
  caFile?: string;
}

export { localServerDataDir };

function normalizeServerUrl(url: string, field: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConnectionConfigError(`${field}: ${JSON.stringify(url)} is not a URL (e.g. http://127.0.0.1:7070)`, field);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConnectionConfigError(`${field}: ${JSON.stringify(url)} must start with http:// or https://`, field);
  }
  return url.trim().replace(/\/+$/, '');
}

function readLocal(dir: string): { url?: string; token?: string; caFile?: string; endpointPath: string; tokenPath: string } {
  const endpointPath = join(dir, ENDPOINT_FILE);
  const tokenPath = join(dir, ADMIN_TOKEN_FILE);
  let url: string | undefined;
  let token: string | undefined;
  let caFile: string | undefined;
  try {
    const doc = JSON.parse(readFileSync(endpointPath, 'utf8')) as { url?: unknown; caFile?: unknown };
    if (typeof doc.url === 'string' && doc.url) url = doc.url;
    if (typeof doc.caFile === 'string' && doc.caFile) caFile = doc.caFile;
  } catch {
    // absent or half-written: treated as "no local server"
  }
  try {
    token = readFileSync(tokenPath, 'utf8').trim() || undefined;
  } catch {
    // absent: treated as "no local token"
  }
  return { url, token, caFile, endpointPath, tokenPath };
}

/**
 * Which server and token to use: flags, else `STEWARD_SERVER`/`STEWARD_TOKEN`, else the
 * local server's data dir (`STEWARD_DATA_DIR` or `~/.steward/server`). The local admin
 * token is only ever sent to the local server's own URL, so pointing `--server`
 * elsewhere can never leak it.
 */
export function resolveConnection(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
  dataDir: string = localServerDataDir(env),
): Connection {
  let baseUrl: string | undefined;
  let serverSource = '';
  if (flags.server) {
    baseUrl = normalizeServerUrl(flags.server, '--server');
    serverSource = '--server';
  } else if (env.STEWARD_SERVER) {
    baseUrl = normalizeServerUrl(env.STEWARD_SERVER, 'STEWARD_SERVER');
    serverSource = 'STEWARD_SERVER';
  }
  let token: string | undefined;
  let tokenSource = '';
  if (flags.token) {
    token = flags.token;
    tokenSource = '--token';
  } else if (env.STEWARD_TOKEN) {
    token = env.STEWARD_TOKEN;
    tokenSource = 'STEWARD_TOKEN';
  }
  const explicitCa = flags.caFile || env.STEWARD_CA_FILE || undefined;
  // The local server's own CA is trusted for its own URL only, as its admin token is.
  const withCa = (c: Connection): Connection => {
    const ca = explicitCa ?? (c.baseUrl.startsWith('https:') ? localCaFor(readLocal(dataDir), c.baseUrl) : undefined);
    return ca ? { ...c, caFile: ca } : c;
  };
  if (baseUrl && token) return withCa({ baseUrl, token, serverSource, tokenSource });

  const local = readLocal(dataDir);
  const localUrl = local.url ? safeNormalize(local.url) : undefined;
  if (!baseUrl && localUrl) {
    baseUrl = localUrl;
    serverSource = local.endpointPath;
  }
  if (!token && local.token && baseUrl && baseUrl === localUrl) {
    token = local.token;
    tokenSource = local.tokenPath;
  }
  if (baseUrl && token) return withCa({ baseUrl, token, serverSource, tokenSource });

  if (!baseUrl) {
    throw new ConnectionConfigError(
      `no Steward server given: pass --server URL and --token TOKEN, or set STEWARD_SERVER and STEWARD_TOKEN, ` +
        `or run a local server (steward server / npm start) so that ${local.endpointPath} exists`,
      '--server',
    );
  }
  throw new ConnectionConfigError(
    `no API token for ${baseUrl}: pass --token TOKEN or set STEWARD_TOKEN` +
      (serverSource.startsWith('--') || serverSource.startsWith('STEWARD')
        ? ` (the local admin token in ${local.tokenPath} is only used for the local server${localUrl ? ` at ${localUrl}` : ''})`
        : ` (expected the local admin token in ${local.tokenPath})`),
    '--token',
  );
}

function localCaFor(local: { url?: string; caFile?: string }, baseUrl: string): string | undefined {
  return local.url && safeNormalize(local.url) === baseUrl ? local.caFile : undefined;
}

function safeNormalize(url: string): string | undefined {
  try {
    return normalizeServerUrl(url, ENDPOINT_FILE);
  } catch {
    return undefined;
  }
}
