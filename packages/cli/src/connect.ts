import type { Command } from 'commander';
import { Option } from 'commander';
import { resolveConnection, StewardClient, type Connection } from '@steward/client';

/** `--server`/`--token` on an operator command (they are also accepted before the subcommand). */
export function withConnection(cmd: Command): Command {
  return cmd
    .addOption(new Option('--server <url>', 'control plane URL (env STEWARD_SERVER)'))
    .addOption(new Option('--token <token>', 'API token (env STEWARD_TOKEN)'));
}

/** The nearest `--server`/`--token` wins: the subcommand's, else the program's. */
export function connectionFor(cmd: Command, env: NodeJS.ProcessEnv = process.env): Connection {
  let server: string | undefined;
  let token: string | undefined;
  for (let c: Command | null = cmd; c; c = c.parent) {
    const o = c.opts<{ server?: string; token?: string }>();
    server ??= o.server;
    token ??= o.token;
  }
  return resolveConnection({ server, token }, env);
}

export function clientFor(cmd: Command): StewardClient {
  const conn = connectionFor(cmd);
  return new StewardClient({ baseUrl: conn.baseUrl, token: conn.token });
}
