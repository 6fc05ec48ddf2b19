import type { Command } from 'commander';
import { Option } from 'commander';
import { readFileSync } from 'node:fs';
import { ConnectionConfigError, resolveConnection, StewardClient, type Connection } from '@steward/client';

/** `--server`/`--token` on an operator command (they are also accepted before the subcommand). */
export function withConnection(cmd: Command): Command {
  return cmd
    .addOption(new Option('--server <url>', 'control plane URL (env STEWARD_SERVER)'))
    .addOption(new Option('--token <token>', 'API token (env STEWARD_TOKEN)'))
    .addOption(new Option('--ca-file <pem>', "CA to trust for an https control plane (env STEWARD_CA_FILE; the local server's own CA is trusted without it)"));
}

/** The nearest `--server`/`--token` wins: the subcommand's, else the program's. */
export function connectionFor(cmd: Command, env: NodeJS.ProcessEnv = process.env): Connection {
  let server: string | undefined;
  let token: string | undefined;
  let caFile: string | undefined;
  for (let c: Command | null = cmd; c; c = c.parent) {
    const o = c.opts<{ server?: string; token?: string; caFile?: string }>();
    server ??= o.server;
    token ??= o.token;
    caFile ??= o.caFile;
  }
  return resolveConnection({ server, token, caFile }, env);
}

export function clientFor(cmd: Command): StewardClient {
  const conn = connectionFor(cmd);
  return new StewardClient({
    baseUrl: conn.baseUrl,
    token: conn.token,
    ...(conn.caFile ? { ca: readCaFile(conn.caFile) } : {}),
    ...jobPageSizeFrom(process.env),
  });
}

/** STEWARD_JOB_PAGE_SIZE: commands per page when a whole job is read (the server's default, 1000, when unset). */
function jobPageSizeFrom(env: NodeJS.ProcessEnv): { jobPageSize?: number } {
  const raw = env.STEWARD_JOB_PAGE_SIZE;
  if (raw === undefined || raw === '') return {};
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ConnectionConfigError(`STEWARD_JOB_PAGE_SIZE=${raw}: want a positive integer`, 'STEWARD_JOB_PAGE_SIZE');
  return { jobPageSize: n };
}

function readCaFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConnectionConfigError(`--ca-file ${path}: ${(e as Error).message}`, '--ca-file');
  }
}
