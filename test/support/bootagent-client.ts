import { createHash } from 'node:crypto';

/**
 * A BootAgent as seed 003 describes it, in a few lines: it registers with `POST /agent/register`,
 * reports its child agents and the results of its last jobs with `POST /agent/status`, and runs
 * the jobs of each reply: install/upgrade download the URL and check `SHA256:…` before anything
 * else, uninstall/stop/restart change the child, config changes its step. Short connections,
 * JSON bodies, nothing else.
 */

export interface Child {
  name: string;
  version: string;
  status: 'stoped' | 'running' | 'fatal' | 'killed';
  uptime: number;
}

export interface Job {
  id: string;
  action: 'install' | 'upgrade' | 'uninstall' | 'restart' | 'stop' | 'config';
  name?: string;
  url?: string;
  checksum?: string;
  version?: string;
  envs?: Record<string, string>;
  limits?: { CPU?: string; memory?: string };
  svrlist?: string;
  step?: number;
}

export interface Reply<T = Record<string, unknown>> {
  http: number;
  body: T;
}

export interface Installed extends Child {
  envs: Record<string, string>;
  limits: Job['limits'];
  bytes: Buffer;
}

export class BootAgentClient {
  step = 600;
  svrlist = '';
  readonly children = new Map<string, Installed>();
  /** Results to send with the next report. */
  results: { id: string; errcode: number; message: string }[] = [];
  readonly startedAt = Date.now();

  constructor(
    /** `host:port` of the BootAgent listener. */
    readonly server: string,
    readonly hostname: string,
    public agentsn: string,
  ) {}

  async post<T = Record<string, unknown>>(path: string, body: unknown, contentType = 'application/json'): Promise<Reply<T>> {
    const res = await fetch(`http://${this.server}${path}`, {
      method: 'POST',
      headers: { 'content-type': contentType, connection: 'close' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { http: res.status, body: (await res.json()) as T };
  }

  async register(): Promise<Reply<{ status: number; agentsn?: string; tags?: string; code?: string; message?: string }>> {
    const r = await this.post<{ status: number; agentsn?: string; tags?: string }>('/agent/register', { hostname: this.hostname, agentsn: this.agentsn });
    // As the seed says, the AgentSN the server returns is the one to use from now on.
    if (r.http === 200 && r.body.agentsn) this.agentsn = r.body.agentsn;
    return r;
  }

  /** One status report; its results are sent once (they are cleared on a 200). */
  async report(): Promise<Reply<{ status: number; jobs: Job[]; code?: string; message?: string }>> {
    const now = Date.now();
    const r = await this.post<{ status: number; jobs: Job[] }>('/agent/status', {
      hostname: this.hostname,
      agentsn: this.agentsn,
      version: 'bootagent-1.2.4-x86_64',
      uptime: Math.round((now - this.startedAt) / 1000),
      timestamp: Math.floor(now / 1000),
      step: this.step,
      agents: [...this.children.values()].map(({ name, version, status, uptime }) => ({ name, version, status, uptime })),
      jobs: this.results,
    });
    if (r.http === 200) this.results = [];
    return r;
  }

  /** Runs one job; `fail` makes it fail the way a broken install would (errcode ≠ 0). */
  async run(job: Job, fail?: string): Promise<void> {
    const done = (errcode: number, message: string): void => void this.results.push({ id: job.id, errcode, message });
    if (fail) return done(17, fail);
    switch (job.action) {
      case 'install':
      case 'upgrade': {
        const res = await fetch(job.url!);
        if (res.status !== 200) return done(2, `download failed: HTTP ${res.status}`);
        const bytes = Buffer.from(await res.arrayBuffer());
        const sha = `SHA256:${createHash('sha256').update(bytes).digest('hex')}`;
        if (sha !== job.checksum) return done(3, `checksum mismatch: ${sha}`);
        this.children.set(job.name!, { name: job.name!, version: job.version ?? '0', status: 'running', uptime: 1, envs: job.envs ?? {}, limits: job.limits, bytes });
        return done(0, 'success');
      }
      case 'uninstall':
        this.children.delete(job.name!);
        return done(0, 'success');
      case 'stop':
      case 'restart': {
        const c = this.children.get(job.name!);
        if (!c) return done(4, 'no such agent');
        c.status = job.action === 'stop' ? 'stoped' : 'running';
        return done(0, 'success');
      }
      case 'config':
        this.step = job.step!;
        this.svrlist = job.svrlist!;
        return done(0, 'success');
    }
  }

  /** Reports, runs every job of the reply, and returns them. */
  async cycle(fail: (job: Job) => string | undefined = () => undefined): Promise<Job[]> {
    const r = await this.report();
    if (r.http !== 200) throw new Error(`status report refused: HTTP ${r.http} ${JSON.stringify(r.body)}`);
    for (const job of r.body.jobs) await this.run(job, fail(job));
    return r.body.jobs;
  }
}
