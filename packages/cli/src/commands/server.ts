import { Option, type Command } from 'commander';
import { listenAddress, LOG_LEVELS, postgresUrl } from '../args.js';
import { println } from '../output.js';
import { prettyLogStream, terminalLogs } from '../pretty-log.js';
import { forever, onShutdown } from '../shutdown.js';

export interface ServerFlags {
  listen?: string;
  dataDir?: string;
  db?: string;
  logLevel?: string;
  admitCidr?: string[];
  bootagentListen?: string;
  bootagentServer?: string[];
  retireClusterListen?: string;
  webhookAllow?: string[];
}

export function addServerOptions(cmd: Command, withDb = true): Command {
  cmd
    .option('--listen <host:port>', 'address to listen on; port 0 picks a free one (default 127.0.0.1:7070)', listenAddress)
    .option('--data-dir <dir>', 'where state lives (default $STEWARD_DATA_DIR or ~/.steward/server)');
  if (withDb) cmd.option('--db <url>', 'postgres://… to use PostgreSQL instead of SQLite in the data dir', postgresUrl);
  cmd.option(
    '--admit-cidr <cidr...>',
    'devices of Retire-Cluster/BootAgent from these ranges become nodes without approval (default: none; others wait for `steward nodes approve`)',
  );
  cmd
    .option('--bootagent-listen <host:port>', 'serve BootAgent devices (POST /agent/register, /agent/status) on this address (default: off)', listenAddress)
    .option('--bootagent-server <host:port...>', "svrlist sent to BootAgents in config jobs (default: the address each device reached)");
  cmd.option(
    '--retire-cluster-listen <host:port>',
    'serve Retire-Cluster devices (TCP JSON; their customary port is 8080) on this address; they wait for `steward nodes approve` unless --admit-cidr covers them (default: off)',
    listenAddress,
  );
  cmd.option(
    '--webhook-allow <cidr...>',
    'loopback/private ranges webhooks may be delivered to (refused by default; default $STEWARD_WEBHOOK_ALLOW)',
  );
  return cmd.addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS));
}

/** The server options of the outbound-safety flags, as `startServer` takes them. */
export function outboundOptions(opts: ServerFlags): { webhookAllow?: string[] } {
  return opts.webhookAllow ? { webhookAllow: opts.webhookAllow } : {};
}

/** The server options of the seed-protocol flags, as `startServer` takes them. */
export function seedProtocolOptions(opts: ServerFlags): { admitCidrs?: string[]; bootagentListen?: string; bootagentServers?: string[]; retireClusterListen?: string } {
  return {
    ...(opts.admitCidr ? { admitCidrs: opts.admitCidr } : {}),
    ...(opts.retireClusterListen ? { retireClusterListen: opts.retireClusterListen } : {}),
    ...(opts.bootagentListen ? { bootagentListen: opts.bootagentListen } : {}),
    ...(opts.bootagentServer ? { bootagentServers: opts.bootagentServer } : {}),
  };
}

export function adminTokenLine(path: string, created: boolean): string {
  return created
    ? `admin token: ${path} (just created; it is the only copy, keep it secret)`
    : `admin token: ${path} (made on the first start; sign in with it, keep it secret)`;
}

export function registerServer(program: Command): void {
  addServerOptions(program.command('server').description('run the control plane (API, agent connections, store)')).action(
    async (opts: ServerFlags) => {
      // Loaded here so operator commands never pay for the server's dependencies.
      const { startServer } = await import('@steward/server');
      const logs = terminalLogs();
      const server = await startServer({
        ...(logs.pretty ? { logStream: prettyLogStream(logs.color) } : {}),
        listen: opts.listen,
        dataDir: opts.dataDir,
        db: opts.db,
        logLevel: opts.logLevel,
        ...seedProtocolOptions(opts),
        ...outboundOptions(opts),
      });
      println(`Steward API listening on ${server.url}`);
      println(`dashboard: ${server.url}/`);
      println(adminTokenLine(server.adminTokenPath, server.adminTokenCreated));
      onShutdown(() => server.close());
      await forever();
    },
  );
}
