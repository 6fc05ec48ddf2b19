import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PgToolError } from './errors.js';

/**
 * `pg_dump` and `pg_restore` of the operator's PostgreSQL client, from `pgBin` when given (e.g.
 * /usr/lib/postgresql/15/bin), else $STEWARD_PG_BIN, else the PATH. They must be at least as new
 * as the server. The URL is passed as an argument: it may carry a password, so it is never logged.
 */
function tool(name: string, pgBin?: string): string {
  const dir = pgBin ?? process.env.STEWARD_PG_BIN;
  return dir ? join(dir, name) : name;
}

function run(name: string, args: string[], pgBin?: string): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(tool(name, pgBin), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.once('error', (e) => fail(new PgToolError(name, `could not start (${e.message}); install the PostgreSQL client or pass --pg-bin`)));
    child.once('exit', (code, signal) => (code === 0 ? ok() : fail(new PgToolError(name, `exited ${code ?? signal}: ${err.trim()}`))));
  });
}

/** The whole database in pg_dump's custom format (compressed, restorable with pg_restore). */
export function pgDump(url: string, file: string, pgBin?: string): Promise<void> {
  return run('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--file=${file}`, `--dbname=${url}`], pgBin);
}

/**
 * Restores a custom-format dump in one transaction (all or nothing). `clean` drops the objects
 * the dump holds first (`--force` on a database that has tables).
 */
export function pgRestore(url: string, file: string, clean: boolean, pgBin?: string): Promise<void> {
  const args = ['--single-transaction', '--exit-on-error', '--no-owner', '--no-privileges', `--dbname=${url}`];
  if (clean) args.push('--clean', '--if-exists');
  return run('pg_restore', [...args, file], pgBin);
}
