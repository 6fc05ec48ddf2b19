import { InvalidArgumentError, Option, type Command } from 'commander';
import { listenAddress, LOG_LEVELS, postgresUrl } from '../args.js';
import { parseDuration } from '@steward/protocol/duration';
import { clientFor, withConnection } from '../connect.js';
import { printJson, println } from '../output.js';
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
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsSan?: string[];
  insecure?: boolean;
  requireClientCert?: boolean;
  signingKey?: string;
  webhookAllow?: string[];
  sessionRetention?: string;
  outputRetention?: string;
}

/** `--session-retention`, `--output-retention`: a duration, or `0`/`off` to keep forever; checked before the server starts. */
function retention(value: string): string {
  if (/^\s*off\s*$/i.test(value)) return value;
  try {
    parseDuration(value);
  } catch {
    throw new InvalidArgumentError('Expected a duration like 90d, 12h, 30m, or off.');
  }
  return value;
}

export function addServerOptions(cmd: Command, withDb = true): Command {
  cmd
    .option('--listen <host:port>', 'address to listen on; port 0 picks a free one (default 127.0.0.1:7070)', listenAddress)
    .option('--data-dir <dir>', 'where state lives (default $STEWARD_DATA_DIR or ~/.steward/server)')
    .option('--signing-key <file>', 'Ed25519 key (PEM) that signs commands to agents; replicas of one store share it (default: command-signing.key in the data dir, made on the first start)');
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
  cmd
    .option('--tls', 'serve HTTPS (default: on when --listen is not a loopback address; the CA and certificate are made in the data dir)')
    .option('--no-tls', 'serve plain HTTP; off loopback only with --insecure')
    .option('--tls-cert <pem>', "your own server certificate (a chain file ending with its CA) instead of the control plane's CA (env STEWARD_TLS_CERT)")
    .option('--tls-key <pem>', 'the key of --tls-cert (env STEWARD_TLS_KEY)')
    .option('--tls-san <name...>', 'more DNS names or addresses for the server certificate (what agents dial)')
    .option('--insecure', 'allow --no-tls on a non-loopback address')
    .option('--require-client-cert', 'agents must present the client certificate they got at enrollment (mTLS)');
  cmd.option(
    '--webhook-allow <cidr...>',
    'loopback/private ranges webhooks may be delivered to (refused by default; default $STEWARD_WEBHOOK_ALLOW)',
  );
  cmd.option('--session-retention <duration>', 'how long terminal session recordings are kept after the session ended; 0 or off keeps them forever (default $STEWARD_SESSION_RETENTION, else 90d)', retention);
  cmd.option('--output-retention <duration>', "how long a command's streamed output is kept after it finished, at least 1h (its result keeps the tail); 0 or off keeps it forever (default $STEWARD_OUTPUT_RETENTION, else 30d)", retention);
  return cmd.addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS));
}

/** The server options of the retention flags, as `startServer` takes them. */
export function retentionOptions(opts: ServerFlags): { sessionRetention?: string; outputRetention?: string } {
  return {
    ...(opts.sessionRetention !== undefined ? { sessionRetention: opts.sessionRetention } : {}),
    ...(opts.outputRetention !== undefined ? { outputRetention: opts.outputRetention } : {}),
  };
}

/** The server options of the outbound-safety flags, as `startServer` takes them. */
export function outboundOptions(opts: ServerFlags): { webhookAllow?: string[] } {
  return opts.webhookAllow ? { webhookAllow: opts.webhookAllow } : {};
}

/** The TLS flags as `startServer` takes them. */
export function tlsOptions(opts: ServerFlags): { tls?: boolean; tlsCert?: string; tlsKey?: string; tlsSans?: string[]; insecure?: boolean; requireClientCert?: boolean } {
  return {
    ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
    ...(opts.tlsCert ? { tlsCert: opts.tlsCert } : {}),
    ...(opts.tlsKey ? { tlsKey: opts.tlsKey } : {}),
    ...(opts.tlsSan ? { tlsSans: opts.tlsSan } : {}),
    ...(opts.insecure ? { insecure: true } : {}),
    ...(opts.requireClientCert ? { requireClientCert: true } : {}),
  };
}

/** With TLS: the pin agents need (`steward enroll create` puts it in the command line). */
export function tlsLine(server: { caPin?: string | null; caFile?: string | null }): string | null {
  if (!server.caFile) return null;
  return server.caPin ? `TLS: CA ${server.caFile}, pin ${server.caPin}` : `TLS: agents need --ca-file with your CA (${server.caFile})`;
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
  const server = program.command('server');
  withConnection(
    server
      .command('rotate-signing-key')
      .description('make a new command signing key and announce it to connected agents; the old one stays valid for --overlap (admin)')
      .option('--overlap <duration>', 'how long the old key stays valid (e.g. 24h, 30m)', '24h')
      .option('--json', 'print JSON'),
  ).action(async (opts: { overlap: string; json?: boolean }, cmd: Command) => {
    const overlapSeconds = Math.round(parseDuration(opts.overlap) / 1000);
    const r = await clientFor(cmd).rotateSigningKey({ overlapSeconds });
    if (opts.json) return printJson(r);
    println(`signing with key ${r.keyId}; announced to ${r.announcedTo} online node(s)`);
    if (r.retiredKeyIds.length) println(`old key(s) ${r.retiredKeyIds.join(', ')} accepted until ${new Date(r.notAfter).toISOString()}`);
    println('other replicas: copy the new command-signing.key into their data dirs and restart them before then');
  });
  server
    .command('backup')
    .description(
      'write a consistent copy of the control plane (store + data-dir keys, artifacts unless --no-artifacts) to FILE (tar.gz, mode 0600) while it keeps serving; SQLite by its online backup, PostgreSQL by pg_dump',
    )
    .argument('<file>', 'the backup to write (.tar.gz); it holds keys: keep it as secret as the data dir')
    .option('--data-dir <dir>', 'the control plane\'s data dir (default $STEWARD_DATA_DIR or ~/.steward/server)')
    .option('--db <url>', 'postgres://… when the store is PostgreSQL (dumped with pg_dump)', postgresUrl)
    .option('--no-artifacts', 'leave the artifact store out (it can be large; restored artifacts are then missing)')
    .option('--pg-bin <dir>', 'directory of pg_dump (default $STEWARD_PG_BIN, else PATH)')
    .option('--json', 'print the manifest as JSON')
    .action(async (file: string, opts: { dataDir?: string; db?: string; artifacts: boolean; pgBin?: string; json?: boolean }) => {
      const { backupControlPlane } = await import('@steward/server');
      const m = await backupControlPlane({ file, dataDir: opts.dataDir, db: opts.db, artifacts: opts.artifacts, pgBin: opts.pgBin });
      if (opts.json) return printJson(m);
      const bytes = m.members.reduce((n, x) => n + x.size, 0);
      println(`backup written: ${file} (${m.store.kind} store at ${m.store.migration ?? 'no migration'}, ${m.members.length} files, ${bytes} bytes before compression${m.artifacts ? '' : ', without artifacts'})`);
    });
  server
    .command('restore')
    .description(
      'bring a backup back into --data-dir (and --db for PostgreSQL): every file is checked against the manifest\'s SHA-256 before anything is written; refused while a control plane runs on that dir',
    )
    .argument('<file>', 'a file written by `steward server backup`')
    .requiredOption('--data-dir <dir>', 'where the restored control plane will live')
    .option('--db <url>', 'postgres://… to restore a PostgreSQL backup into (pg_restore, one transaction)', postgresUrl)
    .option('--force', 'replace a non-empty data dir (and the tables a non-empty database holds)')
    .option('--pg-bin <dir>', 'directory of pg_restore (default $STEWARD_PG_BIN, else PATH)')
    .option('--json', 'print the manifest as JSON')
    .action(async (file: string, opts: { dataDir: string; db?: string; force?: boolean; pgBin?: string; json?: boolean }) => {
      const { restoreControlPlane } = await import('@steward/server');
      const m = await restoreControlPlane({ file, dataDir: opts.dataDir, db: opts.db, force: opts.force, pgBin: opts.pgBin });
      if (opts.json) return printJson(m);
      println(`restored the backup of ${new Date(m.createdAt).toISOString()} (${m.store.kind} store at ${m.store.migration ?? 'no migration'}) into ${opts.dataDir}`);
      println('start the control plane on it; agents reconnect with their credentials. Work accepted after the backup was taken is not in it: see docs/backup-restore.md');
    });
  addServerOptions(server.description('run the control plane (API, agent connections, store)')).action(
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
        ...(opts.signingKey ? { signingKeyFile: opts.signingKey } : {}),
        ...seedProtocolOptions(opts),
        ...tlsOptions(opts),
        ...outboundOptions(opts),
        ...retentionOptions(opts),
      });
      println(`Steward API listening on ${server.url}`);
      const tls = tlsLine(server);
      if (tls) println(tls);
      println(`dashboard: ${server.url}/`);
      println(adminTokenLine(server.adminTokenPath, server.adminTokenCreated));
      onShutdown(() => server.close());
      await forever();
    },
  );
}
