import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/**
 * A BackupX agent as BackupX describes its own (`backupx agent`, commit 757b0fa of its
 * node service): it calls the master's agent API with `X-Agent-Token`, reads answers from the
 * `{code, data, message}` envelope, heartbeats every 15 s, polls every 5 s, and runs `list_dir`
 * by listing a local directory (directories first, `{name, path, isDir, size}`). Written from
 * that description, not from Steward's code; the loops' intervals can be shortened for tests.
 */

export interface Envelope<T> {
  code: string;
  message: string;
  data?: T;
}

export interface Reply<T> {
  status: number;
  body: Envelope<T>;
}

export interface HeartbeatAnswer {
  status: string;
  nodeId: number;
  name: string;
}

export interface AgentCommand {
  id: number;
  type: string;
  payload: { path?: string } & Record<string, unknown>;
}

export interface DirEntry {
  name: string;
  path: string;
  isDir: boolean;
  size: number;
}

export interface BackupXAgentOptions {
  master: string;
  token: string;
  hostname?: string;
  ipAddress?: string;
  heartbeatMs?: number;
  pollMs?: number;
}

export class BackupXAgent {
  private timers: NodeJS.Timeout[] = [];
  /** Every command the loops took, with what they reported. */
  readonly handled: { command: AgentCommand; success: boolean }[] = [];

  constructor(private readonly o: BackupXAgentOptions) {}

  /** One raw request of the agent API (for tests that send what the agent never would). */
  async request<T>(path: string, body?: string, headers: Record<string, string> = { 'x-agent-token': this.o.token }): Promise<Reply<T>> {
    const res = await fetch(this.o.master + path, {
      method: 'POST',
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body,
    });
    return { status: res.status, body: (await res.json()) as Envelope<T> };
  }

  heartbeat(): Promise<Reply<HeartbeatAnswer>> {
    const body = { hostname: this.o.hostname ?? 'backupx-host', ipAddress: this.o.ipAddress ?? '10.1.2.3', agentVersion: 'v1.4.0', os: 'linux', arch: 'amd64' };
    return this.request('/api/agent/heartbeat', JSON.stringify(body));
  }

  /** Polls as the agent does: a POST without a body. */
  poll(): Promise<Reply<{ command: AgentCommand | null }>> {
    return this.request('/api/agent/commands/poll');
  }

  submitResult(id: number, success: boolean, errorMessage: string, result?: unknown): Promise<Reply<{ status: string }>> {
    const body: Record<string, unknown> = { success, errorMessage };
    if (result !== undefined) body.result = result;
    return this.request(`/api/agent/commands/${id}/result`, JSON.stringify(body));
  }

  /** Runs the agent: one heartbeat to check the token, then the heartbeat and poll loops. */
  async start(): Promise<void> {
    const first = await this.heartbeat();
    if (first.status !== 200) throw new Error(`initial heartbeat failed: ${first.status} ${JSON.stringify(first.body)}`);
    const every = (ms: number, fn: () => Promise<unknown>) => {
      let busy = false;
      this.timers.push(
        setInterval(() => {
          if (busy) return;
          busy = true;
          fn()
            .catch(() => {})
            .finally(() => (busy = false));
        }, ms),
      );
    };
    every(this.o.heartbeatMs ?? 15_000, () => this.heartbeat());
    every(this.o.pollMs ?? 5_000, () => this.pollAndHandleOnce());
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private async pollAndHandleOnce(): Promise<void> {
    const reply = await this.poll();
    const command = reply.body.data?.command;
    if (reply.status !== 200 || !command) return;
    if (command.type !== 'list_dir') {
      this.handled.push({ command, success: false });
      await this.submitResult(command.id, false, `unknown command type: ${command.type}`);
      return;
    }
    try {
      const entries = await listLocalDir(command.payload.path ?? '/');
      this.handled.push({ command, success: true });
      await this.submitResult(command.id, true, '', { entries });
    } catch (e) {
      this.handled.push({ command, success: false });
      await this.submitResult(command.id, false, (e as Error).message);
    }
  }
}

/** The agent's listing: directories first, then by name; sizes of files only. */
export async function listLocalDir(path: string): Promise<DirEntry[]> {
  const dir = resolve(path || '/');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`read dir: open ${dir}: ${code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
  const entries = await Promise.all(
    names.map(async (name) => {
      const st = await stat(join(dir, name));
      return { name, path: join(dir, name), isDir: st.isDirectory(), size: st.isDirectory() ? 0 : st.size };
    }),
  );
  return entries.sort((a, b) => (a.isDir !== b.isDir ? (a.isDir ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
