import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, startAgentProcess, startServerProcess, waitOnline, type AgentProc, type ServerProc } from '../support/processes.js';

const run = promisify(execFile);

interface Metafile {
  inputs: Record<string, unknown>;
  outputs: Record<string, { entryPoint?: string; imports: { path: string; kind: string; external?: boolean }[]; inputs: Record<string, unknown> }>;
}

/**
 * The source files an agent loads to start: the static import closure of the entry and of the
 * agent core (`steward agent` imports @steward/agent dynamically, and always does).
 */
function startInputs(meta: Metafile): Set<string> {
  const entry = Object.keys(meta.outputs).find((o) => meta.outputs[o]!.entryPoint === 'packages/cli/src/agent-main.ts')!;
  const core = Object.keys(meta.outputs).find((o) => 'packages/agent/src/agent.ts' in meta.outputs[o]!.inputs)!;
  const seen = new Set<string>();
  const walk = (o: string) => {
    if (seen.has(o) || !meta.outputs[o]) return;
    seen.add(o);
    for (const i of meta.outputs[o]!.imports) if (i.kind === 'import-statement' && !i.external) walk(i.path);
  };
  walk(entry);
  walk(core);
  return new Set([...seen].flatMap((o) => Object.keys(meta.outputs[o]!.inputs)));
}
interface BuildModule {
  build(o: { outdir: string }): Promise<{ files: string[]; metafiles: { cli: Metafile; agent: Metafile } }>;
}
interface BuildStateModule {
  buildIsFresh(outdir: string): boolean;
}
const load = async <T>(file: string) => (await import(pathToFileURL(join(REPO, file)).href)) as T;

// Inside the repository, so the external native addons resolve from its node_modules as in dist/.
const outdir = join(REPO, `dist.test-${process.pid}`);
let built: Awaited<ReturnType<BuildModule['build']>>;
const version = (pkg: string) => (JSON.parse(readFileSync(join(REPO, 'packages', pkg, 'package.json'), 'utf8')) as { version: string }).version;

describe('the compiled build (npm run build)', { timeout: 600_000 }, () => {
  beforeAll(async () => {
    built = await (await load<BuildModule>('scripts/build.mjs')).build({ outdir });
  }, 600_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('writes the CLI and the agent entry points, stamped fresh for the sources as they are', async () => {
    expect(built.files).toEqual(expect.arrayContaining(['steward.mjs', 'steward-agent.mjs']));
    const { buildIsFresh } = await load<BuildStateModule>('scripts/build-state.mjs');
    expect(buildIsFresh(outdir)).toBe(true);
    expect(buildIsFresh(join(outdir, 'nowhere'))).toBe(false);
  });

  it('answers --version from both bundles with the packages\' versions', async () => {
    const cli = await run(process.execPath, [join(outdir, 'steward.mjs'), '--version']);
    expect(cli.stdout.trim()).toBe(version('cli'));
    const agent = await run(process.execPath, [join(outdir, 'steward-agent.mjs'), '--version']);
    expect(agent.stdout.trim()).toBe(version('agent'));
  });

  it('keeps the control plane and the operator commands out of the agent bundle', () => {
    const inputs = Object.keys(built.metafiles.agent.inputs);
    expect(inputs.some((f) => f.startsWith('packages/agent/src/'))).toBe(true);
    expect(inputs.filter((f) => f.startsWith('packages/server/') || f.includes('node_modules/kysely/'))).toEqual([]);
    const cliFiles = inputs.filter((f) => f.startsWith('packages/cli/src/')).sort();
    expect(cliFiles).not.toContain('packages/cli/src/program.ts');
    expect(cliFiles.filter((f) => f.includes('/commands/'))).toEqual(['packages/cli/src/commands/agent.ts']);
  });

  it('loads the agent core and its default modules at start, and tar, node-forge, undici, fastify and the optional modules only on use', async () => {
    const { DEFAULT_MODULES } = await import('@steward/agent/default-modules');
    const atStart = [...startInputs(built.metafiles.agent)];
    // The default modules are all started: statically imported, so they do not split the start into many chunk files.
    for (const m of DEFAULT_MODULES) expect(atStart).toContain(`packages/agent/src/modules/${m}/index.ts`);
    expect(atStart).toContain('packages/agent/src/agent.ts');
    expect(atStart.filter((f) => /node_modules\/(tar|node-forge|undici|fastify|node-pty)\//.test(f))).toEqual([]);
    expect(atStart.filter((f) => /modules\/(ftp|nginx)\//.test(f) || f.includes('link/client-cert.ts'))).toEqual([]);
  });

  it('an agent from steward-agent.mjs enrolls with a control plane from steward.mjs and answers sys.ping', async () => {
    let server: ServerProc | undefined;
    let agent: AgentProc | undefined;
    try {
      server = await startServerProcess({ bin: join(outdir, 'steward.mjs') });
      const { token } = await server.client.createEnrollmentToken({ ttlSeconds: 600, uses: 1 });
      agent = startAgentProcess({ bin: join(outdir, 'steward-agent.mjs'), agentOnly: true, server: server.url, token, name: 'compiled' });
      await waitOnline(server, 'compiled', agent);
      expect((await server.client.getNode('compiled')).agentVersion).toBe(version('agent'));
      const { command } = await server.client.submitCommand({ node: 'compiled', type: 'sys.ping', payload: { echo: 'dist' } });
      const done = await server.client.getCommand(command.id, { wait: 10 });
      expect(done.state).toBe('succeeded');
      expect(done.result).toMatchObject({ echo: 'dist' });
    } finally {
      await agent?.kill();
      await server?.kill();
    }
  });
});
