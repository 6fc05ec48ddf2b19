import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentPackages } from '@steward/protocol';
import type { ArtifactService } from '../artifacts/service.js';
import type { Context } from '../core/context.js';

/** Set by scripts/build.mjs in a compiled build: the repository, relative to the bundle's folder. */
declare const __STEWARD_REPO_DIR__: string | undefined;

/** The repository this control plane runs from (scripts/install.sh and scripts/package.mjs live there). */
export const REPO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), typeof __STEWARD_REPO_DIR__ === 'string' ? __STEWARD_REPO_DIR__ : '../../../..');

/** Where built packages are kept between starts: STEWARD_AGENT_PACKAGES, else dist/packages. */
export function agentPackagesDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.STEWARD_AGENT_PACKAGES ? resolve(env.STEWARD_AGENT_PACKAGES) : join(REPO_DIR, 'dist', 'packages');
}

/** STEWARD_AGENT_PACKAGE_BUILD=off: no package is built or published (the test suite, the bench). */
export function agentPackageBuildOn(env: NodeJS.ProcessEnv = process.env): boolean {
  return !['off', '0', 'false', 'no'].includes((env.STEWARD_AGENT_PACKAGE_BUILD ?? '').toLowerCase());
}

interface Built {
  file: string;
  path: string;
  version: string;
  arch: string;
  sha256: string;
  size: number;
  built: boolean;
  ms: number;
}

/**
 * Publishes this control plane's own agent package into its artifact store, so a fresh control
 * plane can install agents with no other source. The package is built by scripts/package.mjs in a
 * child process (esbuild and 100 MB of tar do not belong in the server's heap), once per change to
 * the sources: a package made from the same inputs is reused from agentPackagesDir(). Runs in the
 * background after the server listens; until it is done the install routes answer 503.
 */
export class AgentPackagePublisher {
  private published: (AgentPackages & { sha256: string; file: string }) | null = null;
  private state: 'off' | 'building' | 'failed' | 'ready' = 'building';
  private child: ChildProcess | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly ctx: Context,
    private readonly artifacts: ArtifactService,
  ) {}

  start(): void {
    if (!agentPackageBuildOn()) {
      this.state = 'off';
      this.ctx.log.info('agent package: not built or published (STEWARD_AGENT_PACKAGE_BUILD=off); /install answers 503');
      return;
    }
    this.running = this.publish().catch((err: unknown) => {
      this.state = 'failed';
      if (!this.stopped) this.ctx.log.error({ err }, 'agent package: could not build or publish it; /install answers 503');
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.child?.kill('SIGTERM');
    await this.running;
  }

  /** The packages to hand out, or why there are none. */
  current(): { ok: true; packages: AgentPackages } | { ok: false; why: string; off: boolean } {
    if (this.published) return { ok: true, packages: { version: this.published.version, packages: this.published.packages } };
    const why = {
      off: 'this control plane does not publish an agent package (STEWARD_AGENT_PACKAGE_BUILD=off)',
      building: 'the agent package is being built; try again in a minute',
      failed: 'the agent package could not be built; the control plane log says why',
      ready: '',
    }[this.state];
    return { ok: false, why, off: this.state === 'off' };
  }

  /** The artifact sha256 of a published package file, or null. */
  shaOf(file: string): string | null {
    return this.published?.file === file ? this.published.sha256 : null;
  }

  private async publish(): Promise<void> {
    const script = join(REPO_DIR, 'scripts', 'package.mjs');
    if (!existsSync(script)) throw new Error(`${script} is missing: this control plane cannot make agent packages`);
    const started = Date.now();
    const built = await this.build(script);
    if (this.stopped) return;
    const { artifact } = await this.artifacts.put(createReadStream(built.path), { name: built.file, sha256: built.sha256, createdBy: null });
    this.published = { version: built.version, file: built.file, sha256: artifact.sha256, packages: { [built.arch]: { file: built.file, sha256: artifact.sha256, size: artifact.size } } };
    this.state = 'ready';
    this.ctx.log.info({ file: built.file, sha256: built.sha256, size: built.size, reused: !built.built, ms: Date.now() - started }, 'agent package published');
  }

  private build(script: string): Promise<Built> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [script, agentPackagesDir(), '--json', '--if-stale'], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
      child.on('error', reject);
      child.on('close', (code, signal) => {
        this.child = null;
        if (code !== 0) return reject(new Error(`scripts/package.mjs exited with ${signal ?? code}: ${err.trim()}`));
        try {
          resolvePromise(JSON.parse(out.trim().split('\n').pop()!) as Built);
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
  }
}
