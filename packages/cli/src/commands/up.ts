import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { localServerDataDir, StewardClient } from '@steward/client';
import { shellQuote } from '../shell-quote.js';
import { println } from '../output.js';
import { BIN_PATH } from '../paths.js';
import { forever, onShutdown } from '../shutdown.js';
import { prettyLogLine, prettyLogStream, terminalLogs } from '../pretty-log.js';
import { LocalAgent } from '../up/local-agent.js';
import { addServerOptions, adminTokenLine, outboundOptions, retentionOptions, seedProtocolOptions, tlsLine, tlsOptions, type ServerFlags } from './server.js';
import type { AgentConfig } from '@steward/agent';

/**
 * The dashboard's address. On a terminal it is a one-click sign-in link: the token rides in the
 * URL fragment, which the browser keeps to itself (never sent in a request, so never in a log);
 * the page moves it to session storage and clears the address bar. Piped output (CI, log
 * collectors) gets the bare URL, so the token never lands in a captured log.
 */
function dashboardLine(url: string, token: string): string {
  return process.stdout.isTTY ? `dashboard: ${url}/#token=${encodeURIComponent(token)}` : `dashboard: ${url}/ (sign in with the admin token)`;
}

/** Where the local agent may read and write files, as `up` prints it. */
function rootsLine(config: AgentConfig, file: string | undefined): string {
  const fsRoots = config.fs.roots;
  const backup = (config.moduleSettings.backup as { roots?: string[] } | undefined)?.roots;
  const backupText = backup ? `; backup roots: ${backup.map((r) => resolve(r)).join(', ')}` : '';
  const how = file ? `from ${file}` : 'set fs.roots in a file given with --agent-config';
  return `local agent file roots: ${fsRoots.join(', ')}${backupText} (${how})`;
}

interface UpFlags extends ServerFlags {
  agentConfig?: string;
}

export function registerUp(program: Command): void {
  addServerOptions(
    program
      .command('up')
      .description('run a control plane with one local agent (what `npm start` runs)')
      .option('--agent-config <file>', "the local agent's YAML config (fs.roots, modules, monitor checks…), as `steward agent --config`"),
    false,
  ).action(async (opts: UpFlags) => {
    const { startServer } = await import('@steward/server');
    const { loadAgentConfig } = await import('@steward/agent');
    const agentConfigFile = opts.agentConfig === undefined ? undefined : resolve(opts.agentConfig);
    const agentDir = (serverDir: string) => join(serverDir, 'local-agent');
    // Checked before anything starts, so a mistake in the file is reported, not a crash-looping agent.
    const checkAgentConfig = (serverDir: string, url: string) =>
      loadAgentConfig({ config: agentConfigFile, dataDir: agentDir(serverDir), server: url });
    if (agentConfigFile) checkAgentConfig(resolve(opts.dataDir ?? localServerDataDir()), 'http://127.0.0.1:7070');
    const logs = terminalLogs();
    const server = await startServer({
      listen: opts.listen,
      dataDir: opts.dataDir,
      logLevel: opts.logLevel,
      ...(opts.signingKey ? { signingKeyFile: opts.signingKey } : {}),
      ...seedProtocolOptions(opts),
      ...tlsOptions(opts),
      ...outboundOptions(opts),
      ...retentionOptions(opts),
      ...(logs.pretty ? { logStream: prettyLogStream(logs.color) } : {}),
    });
    const ca = server.caFile ? readFileSync(server.caFile, 'utf8') : undefined;
    let agent: LocalAgent | undefined;
    // Run by `npm start`, the parent is npm's shell, which dies on SIGTERM without passing it on:
    // its end is the signal to stop, so nothing is left serving the port.
    onShutdown(
      async () => {
        await agent?.stop();
        await server.close();
      },
      { withParent: process.env.npm_lifecycle_event !== undefined },
    );
    const token = readFileSync(server.adminTokenPath, 'utf8').trim();
    const agentConfig = checkAgentConfig(server.dataDir, server.url);
    agent = new LocalAgent({
      client: new StewardClient({ baseUrl: server.url, token, ...(ca ? { ca } : {}) }),
      serverUrl: server.url,
      ...(server.caFile ? { caFile: server.caFile } : {}),
      dataDir: agentDir(server.dataDir),
      config: agentConfigFile,
      binPath: BIN_PATH,
      logLevel: opts.logLevel,
      ...(logs.pretty ? { format: (line: string) => prettyLogLine(line, logs.color) } : {}),
    });
    await agent.start();
    println('');
    println(`Steward is up: API ${server.url}`);
    const tls = tlsLine(server);
    if (tls) println(tls);
    println(dashboardLine(server.url, token));
    println(adminTokenLine(server.adminTokenPath, server.adminTokenCreated));
    println(`local agent data: ${agentDir(server.dataDir)}`);
    println(rootsLine(agentConfig, agentConfigFile));
    // Operator commands find a local server through its data dir; say how if it is not the default one.
    const envPrefix =
      resolve(server.dataDir) === resolve(localServerDataDir()) ? '' : `STEWARD_DATA_DIR=${shellQuote(server.dataDir)} `;
    println(`try: ${envPrefix}npx steward nodes ls`);
    println('');
    await forever();
  });
}
