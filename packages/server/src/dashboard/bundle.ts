import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

/** Set by scripts/build.mjs in a compiled build: the web package, relative to the bundle's folder. */
declare const __STEWARD_WEB_DIR__: string | undefined;

/** The web package, beside this one in the workspace. */
export const WEB_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  typeof __STEWARD_WEB_DIR__ === 'string' ? __STEWARD_WEB_DIR__ : '../../../web',
);
export const WEB_DIST = join(WEB_DIR, 'dist');
const HASH_FILE = '.source-hash';
const LOCK_DIR = join(WEB_DIR, '.build-lock');
const STALE_LOCK_MS = 5 * 60_000;
const BUILD_TIMEOUT_MS = 5 * 60_000;

/** Everything the bundle is made from; a change to any of it means a rebuild. */
function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(join(WEB_DIR, 'src'));
  // Workspace code the page bundles too (@steward/client/browser, @steward/protocol/labels…).
  for (const pkg of ['client', 'protocol']) walk(join(WEB_DIR, '..', pkg, 'src'));
  for (const f of ['index.html', 'vite.config.ts', 'package.json']) out.push(join(WEB_DIR, f));
  return out.sort();
}

export function sourceHash(): string {
  const h = createHash('sha256');
  for (const f of sourceFiles()) {
    h.update(f.slice(WEB_DIR.length));
    h.update('\0');
    h.update(readFileSync(f));
  }
  return h.digest('hex');
}

function builtHash(): string | null {
  try {
    return readFileSync(join(WEB_DIST, HASH_FILE), 'utf8').trim();
  } catch {
    return null;
  }
}

/** True when `dist` exists and was built from the sources as they are now. */
export function bundleIsFresh(): boolean {
  if (!existsSync(join(WEB_DIR, 'src'))) return existsSync(join(WEB_DIST, 'index.html'));
  return builtHash() === sourceHash() && existsSync(join(WEB_DIST, 'index.html'));
}

/**
 * Builds `packages/web/dist` when it is missing or older than its sources, so a fresh clone
 * serves the dashboard on `npm start` with nothing else to run. One build at a time across
 * processes (a lock directory); the result is renamed into place so no reader sees half a build.
 * Returns false (and logs why) when it could not build; the API still serves.
 */
export async function ensureBundle(log: Logger): Promise<boolean> {
  if (bundleIsFresh()) return true;
  if (process.env.STEWARD_WEB_BUILD === '0') {
    log.warn('dashboard bundle is missing or stale and STEWARD_WEB_BUILD=0; not building it');
    return existsSync(join(WEB_DIST, 'index.html'));
  }
  await acquireLock();
  try {
    if (bundleIsFresh()) return true; // another process built it while we waited
    const hash = sourceHash();
    const started = Date.now();
    log.info('building the dashboard (packages/web) — once after install or a change to its sources');
    const tmp = join(WEB_DIR, `dist.tmp-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    await runViteBuild(tmp);
    writeFileSync(join(tmp, HASH_FILE), hash + '\n');
    const old = join(WEB_DIR, `dist.old-${process.pid}`);
    if (existsSync(WEB_DIST)) renameSync(WEB_DIST, old);
    renameSync(tmp, WEB_DIST);
    rmSync(old, { recursive: true, force: true });
    log.info({ ms: Date.now() - started }, 'dashboard built');
    return true;
  } catch (err) {
    log.error({ err }, 'could not build the dashboard; the API still serves');
    return existsSync(join(WEB_DIST, 'index.html'));
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

async function acquireLock(): Promise<void> {
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      return;
    } catch {
      try {
        if (Date.now() - statSync(LOCK_DIR).mtimeMs > STALE_LOCK_MS) rmSync(LOCK_DIR, { recursive: true, force: true });
      } catch {
        // gone meanwhile: try again
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function runViteBuild(outDir: string): Promise<void> {
  const require = createRequire(join(WEB_DIR, 'package.json'));
  const viteBin = join(dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [viteBin, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
      cwd: WEB_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    let output = '';
    const keep = (b: Buffer) => (output = (output + b.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), BUILD_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise();
      else reject(new Error(`vite build exited with ${code ?? signal}: ${output.trim()}`));
    });
  });
}
