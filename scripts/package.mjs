// `npm run package`: the agent package, steward-agent-<version>-linux-<arch>.tar.gz in dist/packages/.
// What a machine needs to run an agent and nothing else, unpacked into one folder:
//   bin/node                 the Node runtime this was built with (process.execPath)
//   bin/steward-agent        `exec bin/node steward-agent.mjs "$@"`
//   steward-agent.mjs        the agent bundle and the chunk-*.mjs files it loads on use
//                            (scripts/build.mjs, agentOnly; its `agentFiles`)
//   node_modules/…           the native addons the agent loads (better-sqlite3, node-pty) and their
//                            run-time dependencies, .node files built for this platform
//   manifest.json            {version, arch, node, files: {path: sha256}} of every other file
//   SHA256SUMS               the same as `sha256sum -c` reads it (the install script checks it)
// Usage from code (the control plane publishes its own at start): `await packageAgent({ outdir })`;
// from a shell: `npm run package` (node scripts/package.mjs [outdir]). See docs/install.md.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { AGENT_BUNDLE, build } from './build.mjs';
import { inputsState, ROOT } from './build-state.mjs';
import { AGENT_ENV, AGENT_NODE_FLAGS } from './runtime-tuning.mjs';

const run = promisify(execFile);

export const DEFAULT_PACKAGES_DIR = join(ROOT, 'dist', 'packages');

/** Staging folders and half-written archives of builds in progress, removed if the process is told to stop. */
const inProgress = new Set();

/**
 * The packages the agent bundle leaves external and loads at run time, with the files of each it
 * needs (a whole folder when absent). Sources, tests and build tools of the addons stay out.
 */
const ADDONS = {
  'better-sqlite3': ['package.json', 'lib', 'build/Release/better_sqlite3.node'],
  bindings: null,
  'file-uri-to-path': null,
  'node-pty': ['package.json', 'lib', 'build/Release/pty.node'],
};

const WRAPPER = `#!/bin/sh
# The Steward agent, run by the Node runtime shipped beside it (flags: scripts/runtime-tuning.mjs).
here=$(dirname "$(readlink -f "$0")")
${Object.entries(AGENT_ENV).map(([k, v]) => `: "\${${k}:=${v}}"; export ${k}`).join('\n')}
exec "$here/node" ${AGENT_NODE_FLAGS.join(' ')} "$here/../${AGENT_BUNDLE}" "$@"
`;

/** STEWARD_PACKAGE_VERSION overrides the agent's version (bundle and package name): a second package to upgrade to. */
const versionOf = (root) => process.env.STEWARD_PACKAGE_VERSION || JSON.parse(readFileSync(join(root, 'packages', 'agent', 'package.json'), 'utf8')).version;

/** `steward-agent-<version>-linux-<arch>.tar.gz`; arch as Node names it (x64, arm64). */
export function packageFileName(version, arch = process.arch) {
  return `steward-agent-${version}-linux-${arch}.tar.gz`;
}

export function sha256File(path) {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', rej)
      .on('end', () => res(h.digest('hex')));
  });
}

/** Test files, source maps and TypeScript declarations are no use to a running agent. */
const wanted = (name) => !/\.(test\.js|map|d\.ts|md)$/.test(name);

function copyTree(from, to) {
  if (statSync(from).isDirectory()) {
    mkdirSync(to, { recursive: true });
    for (const e of readdirSync(from)) if (wanted(e)) copyTree(join(from, e), join(to, e));
  } else {
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
  }
}

function listFiles(dir, base = dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, base));
    else out.push(relative(base, p).split(sep).join('/'));
  }
  return out.sort();
}

/** What a package is made from: the build's inputs, this script and the Node runtime it ships. */
function packageInputs(root) {
  return { ...inputsState(root), packageScript: statSync(join(root, 'scripts', 'package.mjs')).mtimeMs, node: process.version, execPath: process.execPath, version: versionOf(root) };
}

function readStamp(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Builds the agent package into `outdir` (default dist/packages/) and returns what it wrote:
 * `{file, path, version, arch, sha256, size, built}`. A package already there that was made from
 * the same inputs is reused (`built: false`). The staging folder is inside the repository, so the
 * bundle names its external addons by bare name, resolved from the package's own node_modules.
 */
export async function packageAgent({ outdir = DEFAULT_PACKAGES_DIR, root = ROOT, force = false } = {}) {
  outdir = resolve(outdir);
  const version = versionOf(root);
  const arch = process.arch;
  const file = packageFileName(version, arch);
  const path = join(outdir, file);
  const stampPath = `${path}.json`;
  const inputs = packageInputs(root);
  const stamp = readStamp(stampPath);
  if (!force && stamp && existsSync(path) && JSON.stringify(stamp.inputs) === JSON.stringify(inputs)) {
    return { file, path, version, arch, sha256: stamp.sha256, size: stamp.size, built: false };
  }
  mkdirSync(outdir, { recursive: true });
  const stage = join(root, 'dist', `.package-${process.pid}-${randomBytes(4).toString('hex')}`);
  const tmpTar = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  inProgress.add(stage).add(tmpTar);
  try {
    const { agentFiles } = await build({ outdir: join(stage, 'bundle'), root, agentOnly: true });
    const tree = join(stage, 'tree');
    mkdirSync(join(tree, 'bin'), { recursive: true });
    // The agent bundle and the chunk files it loads on first use (scripts/build.mjs splits it).
    for (const f of agentFiles) copyFileSync(join(stage, 'bundle', f), join(tree, f));
    copyFileSync(process.execPath, join(tree, 'bin', 'node'));
    chmodSync(join(tree, 'bin', 'node'), 0o755);
    writeFileSync(join(tree, 'bin', 'steward-agent'), WRAPPER, { mode: 0o755 });
    for (const [name, parts] of Object.entries(ADDONS)) {
      const from = join(root, 'node_modules', name);
      for (const part of parts ?? ['.']) copyTree(join(from, part), join(tree, 'node_modules', name, part));
    }
    const files = {};
    for (const f of listFiles(tree)) files[f] = await sha256File(join(tree, f));
    writeFileSync(join(tree, 'manifest.json'), JSON.stringify({ version, arch, platform: 'linux', node: process.version, files }, null, 2) + '\n');
    const sums = { ...files, 'manifest.json': await sha256File(join(tree, 'manifest.json')) };
    writeFileSync(
      join(tree, 'SHA256SUMS'),
      Object.keys(sums)
        .sort()
        .map((f) => `${sums[f]}  ${f}\n`)
        .join(''),
    );
    // Owner root and a fixed time, so the archive says nothing about the machine it was made on.
    await run('sh', ['-c', 'tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$1" -cf - . | gzip -n -6 > "$2"', 'sh', tree, tmpTar], {
      maxBuffer: 1 << 20,
    });
    const sha256 = await sha256File(tmpTar);
    const size = statSync(tmpTar).size;
    renameSync(tmpTar, path);
    writeFileSync(stampPath, JSON.stringify({ file, version, arch, sha256, size, inputs, builtAt: new Date().toISOString() }, null, 2) + '\n');
    return { file, path, version, arch, sha256, size, built: true };
  } finally {
    rmSync(stage, { recursive: true, force: true });
    rmSync(tmpTar, { force: true });
    inProgress.delete(stage);
    inProgress.delete(tmpTar);
  }
}

// `node scripts/package.mjs [outdir] [--json] [--if-stale]`: --if-stale reuses a package made from
// the same inputs; --json prints what packageAgent returns (the control plane reads it).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  // A control plane stopping while it builds its package sends SIGTERM: leave no staging folder behind.
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.once(sig, () => {
      for (const p of inProgress) rmSync(p, { recursive: true, force: true });
      process.exit(143);
    });
  }
  const args = process.argv.slice(2);
  const outdir = args.find((a) => !a.startsWith('--')) ?? DEFAULT_PACKAGES_DIR;
  const p = await packageAgent({ outdir, force: !args.includes('--if-stale') });
  if (args.includes('--json')) console.log(JSON.stringify({ ...p, ms: Date.now() - started }));
  else console.log(`${relative(process.cwd(), p.path)}  ${(p.size / 1048576).toFixed(1)} MiB  sha256 ${p.sha256}  ${p.built ? 'built' : 'unchanged'} in ${Date.now() - started} ms`);
}
