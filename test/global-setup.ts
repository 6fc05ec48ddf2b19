import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Makes sure the PostgreSQL store tests have a server. When `STEWARD_TEST_PG_URL` is already set
 * (`.ci/run`, or a developer who ran `eval "$(scripts/pg-test-cluster.sh start)"`) nothing happens.
 * Otherwise, when PostgreSQL 15 is installed, this reuses the shared test cluster if it is running
 * or starts a private one for this run and stops it at the end. The URL reaches the test workers
 * through the environment: it is set here, before any worker process is forked.
 */
const INITDB = '/usr/lib/postgresql/15/bin/initdb';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const script = join(root, 'scripts', 'pg-test-cluster.sh');
const PRIVATE_PREFIX = 'steward-pg-test.vitest-';

function run(args: string[], envFile?: string): string {
  return execFileSync(script, args, {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: envFile ? { ...process.env, STEWARD_PG_ENV_FILE: envFile } : process.env,
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stops private clusters left behind by test runs that were killed before their teardown. */
function reapOrphans(): void {
  for (const f of readdirSync('/tmp')) {
    const m = new RegExp(`^${PRIVATE_PREFIX.replace(/\./g, '\\.')}(\\d+)\\.env$`).exec(f);
    if (!m || alive(Number(m[1]))) continue;
    try {
      run(['stop'], join('/tmp', f));
      rmSync(join('/tmp', `${f}.lock`), { force: true });
    } catch {
      // best effort
    }
  }
}

export default function setup(): (() => void) | undefined {
  if (process.env.STEWARD_TEST_PG_URL) return undefined;
  if (!existsSync(INITDB)) return undefined; // the postgres store tests fail and say how to provide one

  reapOrphans();
  try {
    const shared = run(['url']).trim();
    if (shared) {
      process.env.STEWARD_TEST_PG_URL = shared;
      return undefined;
    }
  } catch {
    // not running: start our own below
  }

  const envFile = join('/tmp', `${PRIVATE_PREFIX}${process.pid}.env`);
  let out: string;
  try {
    out = run(['start'], envFile);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`test/global-setup.ts: scripts/pg-test-cluster.sh start failed: ${err.stderr || err.message}`);
  }
  const m = /^export STEWARD_TEST_PG_URL=(\S+)$/m.exec(out);
  if (!m?.[1]) throw new Error(`test/global-setup.ts: unexpected output from pg-test-cluster.sh start: ${out}`);
  process.env.STEWARD_TEST_PG_URL = m[1];

  return () => {
    delete process.env.STEWARD_TEST_PG_URL;
    run(['stop'], envFile);
    rmSync(`${envFile}.lock`, { force: true }); // private to this run: nobody else waits on it
  };
}
