import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './processes.js';

const run = promisify(execFile);

/** Where initdb/pg_ctl live (scripts/pg-test-cluster.sh reads the same variable). */
const PG_BIN = process.env.STEWARD_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const DB_NAME = 'steward';
const PG_USER = 'postgres';

/**
 * A throwaway PostgreSQL cluster a test or the soak owns, so it may stop and restart it
 * (the shared cluster at STEWARD_TEST_PG_URL serves everyone else's tests and must never be
 * restarted). The port stays the same across restarts, so the URL the control planes hold
 * keeps working once it is back.
 */
export interface OwnedPgCluster {
  /** `postgres://postgres@127.0.0.1:PORT/steward` */
  readonly url: string;
  readonly port: number;
  /** Stops the server (`-m fast`: open connections are cut, as in a real restart). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** stop() then start(), with `downMs` between them. */
  restart(downMs?: number): Promise<void>;
  /** Stops it for good and removes its directory. */
  destroy(): Promise<void>;
}

/** Runs a PostgreSQL binary; as root it runs as the `postgres` OS user (PostgreSQL refuses root). */
async function pgBin(name: string, args: string[]): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot ? ['runuser', ['-u', PG_USER, '--', join(PG_BIN, name), ...args]] : [join(PG_BIN, name), args];
  await run(cmd, argv, { cwd: '/', timeout: 90_000 });
}

export async function startPgCluster(): Promise<OwnedPgCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'steward-owned-pg-'));
  if (process.getuid?.() === 0) chownSync(dir, Number((await run('id', ['-u', PG_USER])).stdout.trim()), Number((await run('id', ['-g', PG_USER])).stdout.trim()));
  const data = join(dir, 'data');
  await pgBin('initdb', ['-D', data, '-U', PG_USER, '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  let up = false;
  const start = async () => {
    await pgBin('pg_ctl', ['start', '-w', '-t', '60', '-D', data, '-l', join(dir, 'postgres.log'), '-o', options]);
    up = true;
  };
  const stop = async () => {
    if (!up) return;
    up = false;
    await pgBin('pg_ctl', ['stop', '-w', '-D', data, '-m', 'fast']).catch(() => pgBin('pg_ctl', ['stop', '-D', data, '-m', 'immediate']));
  };
  try {
    await start();
    await pgBin('createdb', ['-h', dir, '-p', String(port), '-U', PG_USER, DB_NAME]);
  } catch (e) {
    await stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url: `postgres://${PG_USER}@127.0.0.1:${port}/${DB_NAME}`,
    port,
    stop,
    start,
    async restart(downMs = 0) {
      await stop();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    async destroy() {
      await stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
