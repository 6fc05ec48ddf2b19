// `npm run build`: the compiled CLI, control plane and agent, bundled by esbuild into dist/.
//   dist/steward.mjs        the whole CLI (server, up, agent, operator commands); its subcommands
//                           and the agent's modules are separate chunk-*.mjs files loaded on use
//   dist/steward-agent.mjs  the agent alone; it too loads chunk-*.mjs files on use (agentFiles)
// Native addons and what cannot be bundled stay external: resolved from node_modules beside dist/.
// Usage from code: `await build({ outdir })` (returns the files written); from a shell:
// `node scripts/build.mjs [outdir]`; `build({ outdir, agentOnly: true })` writes only the agent
// and its chunks (scripts/package.mjs). `agentFiles` names what the agent alone needs. See docs/build.md.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { DEFAULT_OUTDIR, inputsState, ROOT, STAMP_FILE } from './build-state.mjs';

export const CLI_BUNDLE = 'steward.mjs';
export const AGENT_BUNDLE = 'steward-agent.mjs';

/**
 * Not bundled: native addons (a .node file cannot be inlined), pg's optional native binding,
 * packages that read files beside their own code (@fastify/swagger-ui serves its static folder),
 * and the tools the control plane runs as programs of their own (Vite builds the dashboard).
 */
export const EXTERNAL = ['better-sqlite3', 'node-pty', 'pg-native', 'vite', 'esbuild', 'tsx', '@fastify/swagger', '@fastify/swagger-ui'];

/**
 * Leaves the EXTERNAL packages out of the bundle. Node resolves them from the bundle's folder at
 * run time: a package npm hoisted to the root node_modules stays a bare name (so the agent bundle
 * also works beside a node_modules of its own, as in the agent package); one only a workspace
 * package can see (packages/server/node_modules/…) becomes a path relative to the bundle.
 */
function externalPackages(outdir) {
  const names = EXTERNAL.map((n) => n.replace(/[/.]/g, '\\$&')).join('|');
  const fromOutdir = createRequire(join(outdir, 'resolve-from.mjs'));
  return {
    name: 'steward-externals',
    setup(b) {
      b.onResolve({ filter: new RegExp(`^(${names})($|/)`) }, (args) => {
        const resolves = (req) => {
          try {
            return req.resolve(args.path);
          } catch {
            return null;
          }
        };
        const here = resolves(createRequire(join(args.resolveDir, 'resolve-from.mjs')));
        if (here === null || resolves(fromOutdir) === here) return { path: args.path, external: true };
        const rel = relative(outdir, here).split(sep).join('/');
        return { path: rel.startsWith('.') ? rel : `./${rel}`, external: true };
      });
    },
  };
}

/** Chunks of earlier builds are kept this long: a process started before a rebuild may still load them. */
const OLD_CHUNK_MS = 24 * 3600_000;

const versionOf = (root, pkg) => JSON.parse(readFileSync(join(root, 'packages', pkg, 'package.json'), 'utf8')).version;

function commonOptions(root, outdir) {
  return {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir,
    outExtension: { '.js': '.mjs' },
    plugins: [externalPackages(outdir)],
    // Bundled CommonJS packages call require(); an ES module has none unless given one.
    banner: { js: "import { createRequire as __stewardCreateRequire } from 'node:module'; const require = __stewardCreateRequire(import.meta.url);" },
    define: {
      // STEWARD_PACKAGE_VERSION: a package of another version (the upgrade tests make a second one).
      __STEWARD_AGENT_VERSION__: JSON.stringify(process.env.STEWARD_PACKAGE_VERSION || versionOf(root, 'agent')),
      __STEWARD_SERVER_VERSION__: JSON.stringify(versionOf(root, 'server')),
      __STEWARD_CLI_BUNDLE__: JSON.stringify(CLI_BUNDLE),
      __STEWARD_WEB_DIR__: JSON.stringify(relative(outdir, join(root, 'packages/web')) || '.'),
      // The repository (scripts/install.sh, scripts/package.mjs), for the control plane's install routes.
      __STEWARD_REPO_DIR__: JSON.stringify(relative(outdir, root) || '.'),
    },
    // Less for node to read and parse on every start (identifiers stay: stack traces and logs
    // keep their names). ASCII output: non-ASCII source text becomes \u escapes, so V8 keeps
    // the bundles as one-byte strings instead of two-byte ones (half the memory for the source).
    minifyWhitespace: true,
    minifySyntax: true,
    charset: 'ascii',
    metafile: true,
    logLevel: 'warning',
  };
}

/**
 * Builds into `outdir` (default dist/) and returns the names of the files written. Written to
 * a temporary folder first, then renamed in one file at a time with the stamp last, so a
 * `steward` started meanwhile runs either the old build or the new one, never half of one.
 */
export async function build({ outdir = DEFAULT_OUTDIR, root = ROOT, agentOnly = false } = {}) {
  outdir = resolve(outdir);
  const inputs = inputsState(root);
  const tmp = `${outdir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const opts = commonOptions(root, outdir);
  try {
    // agentOnly (the agent package): the CLI's bundle and chunks are not needed, so not built.
    const cli = agentOnly
      ? null
      : await esbuild.build({
          ...opts,
          outdir: tmp,
          entryPoints: [{ in: 'packages/cli/src/main.ts', out: CLI_BUNDLE.replace(/\.mjs$/, '') }],
          splitting: true,
          chunkNames: 'chunk-[hash]',
        });
    const agent = await esbuild.build({
      ...opts,
      outdir: tmp,
      entryPoints: [{ in: 'packages/cli/src/agent-main.ts', out: AGENT_BUNDLE.replace(/\.mjs$/, '') }],
      // Split like the CLI: what the agent imports on first use (undici, node-forge, tar, the
      // inbound API's fastify, each module) sits in chunk files it reads only then. One file
      // made node parse ~3 MB on every start, most of the agent's start → welcome time (issue 17).
      splitting: true,
      chunkNames: 'chunk-[hash]',
    });
    const files = readdirSync(tmp).sort();
    const stamp = {
      inputs,
      builtAt: new Date().toISOString(),
      files,
      agentInputs: Object.keys(agent.metafile.inputs).length,
      ...(cli ? { cliInputs: Object.keys(cli.metafile.inputs).length } : { agentOnly: true }),
    };
    mkdirSync(outdir, { recursive: true });
    for (const f of files) renameSync(join(tmp, f), join(outdir, f));
    // An agent-only build is not a build of `steward`: no stamp, so it never passes for a fresh dist/.
    if (!agentOnly) {
      writeFileSync(join(tmp, STAMP_FILE), JSON.stringify(stamp, null, 2) + '\n');
      renameSync(join(tmp, STAMP_FILE), join(outdir, STAMP_FILE));
    }
    removeOldChunks(outdir, new Set(files));
    // What the agent package takes: steward-agent.mjs and the chunks it may load, no CLI-only file.
    const agentFiles = Object.keys(agent.metafile.outputs).map((o) => o.split('/').pop()).sort();
    return { files, agentFiles, metafiles: { cli: cli?.metafile ?? null, agent: agent.metafile } };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function removeOldChunks(outdir, current) {
  const now = Date.now();
  for (const f of readdirSync(outdir)) {
    if (!/^chunk-.*\.mjs$/.test(f) || current.has(f)) continue;
    const p = join(outdir, f);
    if (now - statSync(p).mtimeMs > OLD_CHUNK_MS) rmSync(p, { force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  const outdir = process.argv[2] ?? DEFAULT_OUTDIR;
  const { files } = await build({ outdir });
  console.log(`built ${files.length} files into ${relative(process.cwd(), resolve(outdir)) || '.'} in ${Date.now() - started} ms`);
}
