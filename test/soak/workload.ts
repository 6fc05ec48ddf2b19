import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { ApiError } from '@steward/client';
import { WEBHOOK_HEADERS } from '@steward/protocol';
import { ArtifactServer, sha256 } from '../support/service-artifacts.js';
import type { Fleet } from './fleet.js';

/** A command the API accepted (2xx with an id): its own or one of a job's. */
export interface AcceptedCommand {
  id: string;
  /** What the command appends to its node's effect file. */
  mark: string;
  /** The agent name for a single command; null for a job (its commands name their nodes). */
  node: string | null;
}

export interface AcceptedJob {
  id: string;
  mark: string;
  nodes: string[];
}

export interface AcceptedTask {
  id: string;
  mark: string;
}

export interface WebhookReceipt {
  delivery: string;
  event: string;
  /** The command, job or task id the event is about. */
  subject: string;
  at: number;
}

/** Every submit the API refused or that failed on the way (not accepted: no invariant holds for it), by reason. */
export type Refusals = Record<string, number>;

const SERVICE = 'soak-svc';
/** A service that only sleeps; its health check is a process that exits 0. */
const SERVICE_SCRIPT = '#!/bin/sh\nexec sleep 100000\n';

/**
 * What flows while faults are injected: exec.run commands and jobs that append a unique mark to
 * the node's effect file, exec tasks that stamp their start, progress and end in one shared file
 * (O_APPEND lines: whole lines, in order), changes of one service on every node, and a webhook
 * receiver counting what the control planes deliver.
 */
export class Workload {
  readonly commands: AcceptedCommand[] = [];
  readonly jobs: AcceptedJob[] = [];
  readonly tasks: AcceptedTask[] = [];
  /** Revisions the API accepted for the soak service, in order. */
  readonly serviceRevisions: number[] = [];
  readonly refusals: Refusals = {};
  readonly receipts: WebhookReceipt[] = [];
  readonly taskLog: string;
  webhookId = '';
  private receiver: Server | null = null;
  private artifacts: ArtifactServer | null = null;
  private artifactUrl = '';
  private stopping = false;
  private running: Promise<void> | null = null;
  private serviceVersion = 0;

  constructor(
    private readonly fleet: Fleet,
    private readonly rng: () => number,
    private readonly log: (s: string) => void,
  ) {
    this.taskLog = join(fleet.dir, 'task-runs.txt');
  }

  async start(): Promise<void> {
    this.receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let subject = '';
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, { id?: string } | undefined>;
          subject = body.command?.id ?? body.job?.id ?? body.task?.id ?? '';
        } catch {
          subject = '(unparsable body)';
        }
        this.receipts.push({ delivery: String(req.headers[WEBHOOK_HEADERS.delivery]), event: String(req.headers[WEBHOOK_HEADERS.event]), subject, at: Date.now() });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => this.receiver!.listen(0, '127.0.0.1', () => r()));
    const port = (this.receiver.address() as { port: number }).port;
    const c = this.fleet.client(0)!;
    this.webhookId = (await c.createWebhook({ url: `http://127.0.0.1:${port}/hook`, name: 'soak', events: ['command.finished', 'job.finished', 'task.finished'] })).id;
    this.artifacts = await new ArtifactServer().start();
    this.artifactUrl = this.artifacts.put('soak-svc', Buffer.from(SERVICE_SCRIPT));
    await this.changeService();
    this.running = this.loop();
  }

  /** Stops submitting; returns once the submit in flight has its answer. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => (this.receiver ? this.receiver.close(() => r()) : r()));
    await this.artifacts?.stop();
  }

  private async loop(): Promise<void> {
    let lastService = Date.now();
    while (!this.stopping) {
      const r = this.rng();
      if (Date.now() - lastService > 8000) {
        lastService = Date.now();
        await this.changeService();
      } else if (r < 0.6) await this.command();
      else if (r < 0.8) await this.job();
      else await this.task();
      await new Promise((res) => setTimeout(res, 100 + Math.floor(this.rng() * 300)));
    }
  }

  private refused(e: unknown): void {
    const key = e instanceof ApiError ? `${e.status} ${e.code}` : `network: ${(e as { code?: string }).code ?? (e as Error).message?.slice(0, 60)}`;
    this.refusals[key] = (this.refusals[key] ?? 0) + 1;
  }

  /** Runs `submit` against a replica that is up; false when the API did not accept it. */
  private async submit<T>(submit: (c: NonNullable<ReturnType<Fleet['client']>>) => Promise<T>): Promise<T | null> {
    const c = this.fleet.client(this.rng());
    if (!c) {
      this.refused(new Error('no replica up'));
      return null;
    }
    try {
      return await submit(c);
    } catch (e) {
      this.refused(e);
      return null;
    }
  }

  private effectLine(mark: string) {
    return { command: 'sh', args: ['-c', `echo ${mark} >> "$SOAK_EFFECTS"`] };
  }

  private async command(): Promise<void> {
    const agent = this.fleet.agents[Math.floor(this.rng() * this.fleet.agents.length)]!;
    const mark = `c-${randomUUID()}`;
    const res = await this.submit((c) => c.submitCommand({ node: agent.name, type: 'exec.run', payload: this.effectLine(mark), requestId: mark, timeoutMs: 30_000 }));
    if (res) this.commands.push({ id: res.command.id, mark, node: agent.name });
  }

  private async job(): Promise<void> {
    const names = this.fleet.agents.map((a) => a.name).filter(() => this.rng() < 0.7);
    if (names.length === 0) names.push(this.fleet.agents[0]!.name);
    const mark = `j-${randomUUID()}`;
    const res = await this.submit((c) => c.createJob({ target: { nodes: names }, type: 'exec.run', payload: this.effectLine(mark), requestId: mark, timeoutMs: 30_000 }));
    if (res) this.jobs.push({ id: res.id, mark, nodes: names });
  }

  /**
   * A task of ~1.5 s that writes `start|tick|end <mark> <attempt> <node> <ms>` lines: a run is
   * the span from its start to its last line, so two runs of one task that overlap show, even
   * when one was killed without an end.
   */
  private async task(): Promise<void> {
    const mark = `t-${randomUUID()}`;
    const line = (what: string) => `echo "${what} ${mark} $STEWARD_TASK_ATTEMPT_ID $SOAK_NODE $(date +%s%3N)" >> ${this.taskLog}`;
    const script = [line('start'), `for i in 1 2 3 4 5 6; do sleep 0.25; ${line('tick')}; done`, line('end')].join('; ');
    const res = await this.submit((c) => c.submitTask({ kind: 'exec', payload: { command: 'sh', args: ['-c', script] }, requestId: mark, timeoutMs: 60_000, maxRetries: 2 }));
    if (res) this.tasks.push({ id: res.task.id, mark });
  }

  private async changeService(): Promise<void> {
    const version = `1.0.${++this.serviceVersion}`;
    const bytes = Buffer.from(SERVICE_SCRIPT);
    const res = await this.submit((c) =>
      c.putService(SERVICE, {
        version,
        artifact: { url: this.artifactUrl, sha256: sha256(bytes), format: 'file', fileName: 'run' },
        command: './run',
        env: { SOAK_VERSION: version },
        health: { exec: { command: 'true' }, intervalMs: 1000, graceMs: 10_000 },
        target: { all: true },
      }),
    );
    if (res) this.serviceRevisions.push(res.service.revision);
  }

  get serviceName(): string {
    return SERVICE;
  }

  counts(): Record<string, number> {
    return {
      commands: this.commands.length,
      jobs: this.jobs.length,
      tasks: this.tasks.length,
      serviceChanges: this.serviceRevisions.length,
      webhookReceipts: this.receipts.length,
      refused: Object.values(this.refusals).reduce((a, b) => a + b, 0),
    };
  }
}
