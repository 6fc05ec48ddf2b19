// Whether dist/ was built from the sources as they are now. Plain JavaScript with no imports
// beyond node:, because packages/cli/bin/steward.js asks this on every `steward` call.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const DEFAULT_OUTDIR = join(ROOT, 'dist');
export const STAMP_FILE = '.build-stamp.json';

/** The packages bundled into dist/ (web is built by Vite on its own, see server/src/dashboard). */
const SOURCE_PACKAGES = ['protocol', 'client', 'server', 'agent', 'cli'];

/**
 * The newest modification time and the number of files among everything a build reads:
 * the packages' sources and manifests, the lock file and the build script itself. A count
 * catches a file deleted, or added with an old time (`cp -p`, an unpacked archive).
 */
export function inputsState(root = ROOT) {
  let newest = 0;
  let files = 0;
  const see = (p) => {
    const m = statSync(p).mtimeMs;
    if (m > newest) newest = m;
    files++;
  };
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else see(p);
    }
  };
  for (const pkg of SOURCE_PACKAGES) {
    walk(join(root, 'packages', pkg, 'src'));
    see(join(root, 'packages', pkg, 'package.json'));
  }
  for (const f of ['package.json', 'package-lock.json', 'scripts/build.mjs', 'scripts/build-state.mjs']) see(join(root, f));
  return { newest, files };
}

/** The stamp the last build wrote, or null when there is none (never built, or built elsewhere). */
export function readStamp(outdir = DEFAULT_OUTDIR) {
  try {
    return JSON.parse(readFileSync(join(outdir, STAMP_FILE), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * True when outdir holds a build of the sources as they are now. A tree without sources
 * (an unpacked package) is fresh whenever its stamp is there.
 */
export function buildIsFresh(outdir = DEFAULT_OUTDIR, root = ROOT) {
  const stamp = readStamp(outdir);
  if (!stamp) return false;
  let now;
  try {
    now = inputsState(root);
  } catch {
    return true;
  }
  return now.newest <= stamp.inputs.newest && now.files === stamp.inputs.files;
}

/**
 * Builds dist/ when it is not a build of the sources as they are now (the tests, the soak and the
 * bench all run the compiled steward); true when it built. build.mjs is imported only then:
 * bin/steward.js asks buildIsFresh on every call and must not load esbuild for it.
 */
export async function ensureFreshBuild() {
  if (buildIsFresh()) return false;
  const { build } = await import('./build.mjs');
  await build();
  return true;
}
