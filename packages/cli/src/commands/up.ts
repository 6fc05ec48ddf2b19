import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { localServerDataDir, StewardClient } from '@steward/client';
import { shellQuote } from '../shell-quote.js';
import { println } from '../output.js';
import { BIN_PATH } from '../paths.js';
import { forever, onShutdown } from '../shutdown.js';
import { LocalAgent } from '../up/local-agent.js';
import { addServerOptions, adminTokenLine, type ServerFlags } from './server.js';

export function registerUp(program: Command): void {
  addServerOptions(
    program.command('up').description('run a control plane with one local agent (what `npm start` runs)'),
    false,
  ).action(async (opts: ServerFlags) => {
    const { startServer } = await import('@steward/server');
    const server = await startServer({ listen: opts.listen, dataDir: opts.dataDir, logLevel: opts.logLevel });
    let agent: LocalAgent | undefined;
    onShutdown(async () => {
      await agent?.stop();
      await server.close();
    });
    const token = readFileSync(server.adminTokenPath, 'utf8').trim();
    agent = new LocalAgent({
      client: new StewardClient({ baseUrl: server.url, token }),
      serverUrl: server.url,
      dataDir: join(server.dataDir, 'local-agent'),
      binPath: BIN_PATH,
      logLevel: opts.logLevel,
    });
    await agent.start();
    println('');
    println(`Steward is up: API ${server.url}`);
    println(adminTokenLine(server.adminTokenPath, server.adminTokenCreated));
    println(`local agent data: ${join(server.dataDir, 'local-agent')}`);
    // Operator commands find a local server through its data dir; say how if it is not the default one.
    const envPrefix =
      resolve(server.dataDir) === resolve(localServerDataDir()) ? '' : `STEWARD_DATA_DIR=${shellQuote(server.dataDir)} `;
    println(`try: ${envPrefix}npx steward nodes ls`);
    println('');
    await forever();
  });
}
