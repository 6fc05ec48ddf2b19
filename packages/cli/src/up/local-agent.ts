import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { StewardClient } from '@steward/client';

export interface LocalAgentOptions {
  client: StewardClient;
  serverUrl: string;
  dataDir: string;
  binPath: string;
  name?: string;
  logLevel?: string;
  /** The control plane's CA when it serves HTTPS: the local agent trusts it alone. */
  caFile?: string;
  /** The agent's YAML config file (`steward up --agent-config`); the flags above win over it. */
  config?: string;
  /** Where the child's output lines go, already prefixed. */
  write?: (line: string) => void;
  /** Applied to each line of the child's output before the prefix (e.g. pretty log lines). */
  format?: (line: string) => string;
}

const MIN_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;
/** A run this long counts as healthy, so the next crash restarts quickly again. */
const STABLE_AFTER_MS = 30_000;
const STOP_GRACE_MS = 10_000;

/** A node name from the hostname: the name rule allows letters, digits, `.`, `_`, `-`. */
export function nodeNameFromHostname(host: string = hostname()): string {
  const cleaned = host
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63);
  return cleaned || 'local';
}

/**
 * Keeps one agent child process running next to an in-process server (`steward up`):
 * enrolls it on first start, restarts it with bounded backoff when it dies, and stops it
 * on request.
 */
export class LocalAgent {
  private child: ChildProcess | undefined;
  private stopping = false;
  private delay = MIN_DELAY_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly write: (line: string) => void;

  constructor(private readonly opts: LocalAgentOptions) {
    this.write = opts.write ?? ((line) => process.stdout.write(`${line}\n`));
  }

  get identityPath(): string {
    return join(this.opts.dataDir, 'identity.json');
  }

  async start(): Promise<void> {
    await this.spawnOnce();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  private async spawnOnce(): Promise<void> {
    if (this.stopping) return;
    const args = [this.opts.binPath, 'agent', '--server', this.opts.serverUrl, '--data-dir', this.opts.dataDir, '--exit-with-parent'];
    args.push('--name', this.opts.name ?? nodeNameFromHostname());
    if (this.opts.logLevel) args.push('--log-level', this.opts.logLevel);
    if (this.opts.config) args.push('--config', this.opts.config);
    if (this.opts.caFile) args.push('--ca-file', this.opts.caFile);
    // Through the environment, not argv: a token on the command line shows in `ps`.
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.STEWARD_ENROLL_TOKEN;
    if (!existsSync(this.identityPath)) {
      try {
        const t = await this.opts.client.createEnrollmentToken({
          uses: 1,
          ttlSeconds: 600,
          labels: { local: 'true' },
          note: 'steward up: local agent',
        });
        env.STEWARD_ENROLL_TOKEN = t.token;
      } catch (e) {
        this.write(`[agent] could not create an enrollment token: ${(e as Error).message}`);
        this.scheduleRestart(0);
        return;
      }
    }
    if (this.stopping) return;
    const startedAt = Date.now();
    // Its own process group: a terminal's Ctrl-C reaches only `steward up`, which stops the agent
    // in order; `--exit-with-parent` ends it should `steward up` die without stopping it.
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.write(`[agent] ${this.opts.format?.(line) ?? line}`));
    }
    child.on('error', (e) => this.write(`[agent] could not start: ${e.message}`));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      this.write(`[agent] exited (${signal ?? `code ${code}`})`);
      this.scheduleRestart(Date.now() - startedAt);
    });
  }

  private scheduleRestart(ranMs: number): void {
    if (this.stopping) return;
    if (ranMs >= STABLE_AFTER_MS) this.delay = MIN_DELAY_MS;
    const delay = this.delay;
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    this.write(`[agent] restarting in ${delay / 1000}s`);
    this.restartTimer = setTimeout(() => void this.spawnOnce(), delay);
  }
}
