import type { Readable } from 'node:stream';
import type {
  Alert,
  AlertListQuery,
  DeliveryListQuery,
  Webhook,
  WebhookCreate,
  WebhookCreated,
  WebhookDelivery,
  ApiToken,
  Artifact,
  ArtifactListQuery,
  Backup,
  BackupListQuery,
  BackupRestore,
  BackupRun,
  BackupRunStarted,
  BackupSchedule,
  BackupScheduleCreate,
  BackupVerify,
  ApiTokenCreate,
  ApiTokenCreated,
  Command,
  CommandCreate,
  CommandListQuery,
  EnrollmentToken,
  EnrollmentTokenCreate,
  EnrollmentTokenCreated,
  Job,
  JobCreate,
  JobDetail,
  Node,
  NodeListQuery,
  NodePatch,
  Service,
  ServiceLogsResult,
  ServiceNodeReport,
  ServicePut,
  SchedulerState,
  StewardEvent,
  StewardEventKind,
  Task,
  TaskCreate,
  TaskDetail,
  TaskListQuery,
  TaskOutputChunk,
  TaskState,
} from '@steward/protocol';
import { Agent, fetch as undiciFetch } from 'undici';
import { ApiError } from './api-error.js';
import { downloadStream, downloadToFile, uploadFile, uploadStream, type ArtifactUpload, type Transport, type UploadOptions } from './artifact-transfer.js';
import { readSse } from './sse.js';

export interface StewardClientOptions {
  /** e.g. `http://127.0.0.1:7070` (no `/api/v1`). */
  baseUrl: string;
  token: string;
  /** Defaults to undici's fetch with timeouts that suit held requests and event streams. */
  fetch?: typeof globalThis.fetch;
}

export interface List<T> {
  items: T[];
}

export interface WaitOptions {
  /** Seconds the server may hold the request until the command/job ends (0–300). */
  wait?: number;
  signal?: AbortSignal;
}

export interface SubmitResult {
  command: Command;
  /** False when the server returned an earlier command for the same `requestId`. */
  created: boolean;
}

export interface EventsOptions {
  kinds?: readonly StewardEventKind[] | readonly string[];
  /** Resume after this event id (sent as `Last-Event-ID`). */
  lastEventId?: string;
  signal?: AbortSignal;
}

export interface ReceivedEvent {
  id: string;
  event: StewardEvent;
}

/** An open event stream: iterate it, and `close()` it when done. */
export interface EventStream extends AsyncIterable<ReceivedEvent> {
  close(): void;
}

export interface TaskSubmitResult {
  task: Task;
  /** False when the server returned an earlier task for the same `requestId`. */
  created: boolean;
}

/** The task's state as the output stream reports it. */
export interface TaskStreamState {
  state: TaskState;
  attempt: number;
  nodeId: string | null;
  progress: number | null;
  exitCode: number | null;
  reason: string | null;
}

/** One event of `GET /api/v1/tasks/:id/output`. */
export type TaskOutputEvent =
  | { kind: 'output'; chunk: TaskOutputChunk }
  | { kind: 'state'; state: TaskStreamState }
  | { kind: 'end'; state: TaskStreamState };

export interface HealthStatus {
  /** `/healthz` answered 2xx. */
  live: boolean;
  /** `/readyz` answered 2xx. */
  ready: boolean;
  body: unknown;
}

/**
 * undici's default waits at most 300 s for response headers, exactly the longest `?wait=`
 * the API allows; a held request would race that limit. Event streams are quiet between
 * pings, so no body timeout either.
 */
const dispatcher = new Agent({ headersTimeout: 330_000, bodyTimeout: 0 });
const defaultFetch = ((input: string, init: Record<string, unknown>) =>
  undiciFetch(input, { ...init, dispatcher })) as unknown as typeof globalThis.fetch;

type Query = Record<string, string | number | boolean | undefined | null>;

interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Path outside `/api/v1` (health endpoints). */
  raw?: boolean;
}

/** Typed client for the Steward REST API; one method per route. */
export class StewardClient {
  readonly baseUrl: string;
  private readonly token: string;
  private readonly fetchImpl: typeof globalThis.fetch;

  constructor(opts: StewardClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.fetchImpl = opts.fetch ?? defaultFetch;
  }

  // ── health ────────────────────────────────────────────────────────────────
  async health(signal?: AbortSignal): Promise<HealthStatus> {
    const live = await this.send('GET', '/healthz', { raw: true, signal });
    const ready = await this.send('GET', '/readyz', { raw: true, signal });
    return { live: live.ok, ready: ready.ok, body: ready.body };
  }

  // ── operator API tokens (admin only) ─────────────────────────────────────
  async createToken(body: ApiTokenCreate): Promise<ApiTokenCreated> {
    return (await this.request<ApiTokenCreated>('POST', '/tokens', { body })).body;
  }

  async listTokens(): Promise<List<ApiToken>> {
    return (await this.request<List<ApiToken>>('GET', '/tokens')).body;
  }

  async deleteToken(id: string): Promise<void> {
    await this.request('DELETE', `/tokens/${encodeURIComponent(id)}`);
  }

  // ── enrollment tokens ────────────────────────────────────────────────────
  async createEnrollmentToken(body: EnrollmentTokenCreate = {}): Promise<EnrollmentTokenCreated> {
    return (await this.request<EnrollmentTokenCreated>('POST', '/enrollment-tokens', { body })).body;
  }

  async listEnrollmentTokens(): Promise<List<EnrollmentToken>> {
    return (await this.request<List<EnrollmentToken>>('GET', '/enrollment-tokens')).body;
  }

  async deleteEnrollmentToken(id: string): Promise<void> {
    await this.request('DELETE', `/enrollment-tokens/${enc(id)}`);
  }

  // ── nodes ────────────────────────────────────────────────────────────────
  async listNodes(query: NodeListQuery = {}): Promise<List<Node>> {
    return (await this.request<List<Node>>('GET', '/nodes', { query: { ...query } })).body;
  }

  async getNode(idOrName: string): Promise<Node> {
    return (await this.request<Node>('GET', `/nodes/${enc(idOrName)}`)).body;
  }

  async patchNode(idOrName: string, patch: NodePatch): Promise<Node> {
    return (await this.request<Node>('PATCH', `/nodes/${enc(idOrName)}`, { body: patch })).body;
  }

  async deleteNode(idOrName: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.request('DELETE', `/nodes/${enc(idOrName)}`, { query: { force: opts.force ? 'true' : undefined } });
  }

  // ── commands ─────────────────────────────────────────────────────────────
  async submitCommand(body: CommandCreate): Promise<SubmitResult> {
    const res = await this.request<Command>('POST', '/commands', { body });
    return { command: res.body, created: res.status === 201 };
  }

  async listCommands(query: CommandListQuery = {}): Promise<List<Command>> {
    return (await this.request<List<Command>>('GET', '/commands', { query: { ...query } })).body;
  }

  async getCommand(id: string, opts: WaitOptions = {}): Promise<Command> {
    return (await this.request<Command>('GET', `/commands/${enc(id)}`, { query: { wait: opts.wait }, signal: opts.signal }))
      .body;
  }

  async cancelCommand(id: string): Promise<Command> {
    return (await this.request<Command>('POST', `/commands/${enc(id)}/cancel`)).body;
  }

  // ── jobs ─────────────────────────────────────────────────────────────────
  async createJob(body: JobCreate): Promise<JobDetail> {
    return (await this.request<JobDetail>('POST', '/jobs', { body })).body;
  }

  async listJobs(query: { state?: Job['state']; limit?: number } = {}): Promise<List<Job>> {
    return (await this.request<List<Job>>('GET', '/jobs', { query: { ...query } })).body;
  }

  async getJob(id: string, opts: WaitOptions = {}): Promise<JobDetail> {
    return (await this.request<JobDetail>('GET', `/jobs/${enc(id)}`, { query: { wait: opts.wait }, signal: opts.signal }))
      .body;
  }

  async cancelJob(id: string): Promise<JobDetail> {
    return (await this.request<JobDetail>('POST', `/jobs/${enc(id)}/cancel`)).body;
  }

  // ── services ─────────────────────────────────────────────────────────────
  /** Creates or changes a service's desired state; `created` when it did not exist. */
  async putService(name: string, spec: ServicePut): Promise<{ service: Service; created: boolean }> {
    const res = await this.request<Service>('PUT', `/services/${enc(name)}`, { body: spec });
    return { service: res.body, created: res.status === 201 };
  }

  async listServices(): Promise<List<Service>> {
    return (await this.request<List<Service>>('GET', '/services')).body;
  }

  async getService(name: string): Promise<Service> {
    return (await this.request<Service>('GET', `/services/${enc(name)}`)).body;
  }

  /** Uninstalls the service from every node that has it. */
  async deleteService(name: string): Promise<void> {
    await this.request('DELETE', `/services/${enc(name)}`);
  }

  /** `start`, `stop`, `restart` or `status` of a service on one node; answers the node's view. */
  async serviceAction(name: string, verb: 'start' | 'stop' | 'restart' | 'status', node: string): Promise<ServiceNodeReport> {
    return (await this.request<ServiceNodeReport>('POST', `/services/${enc(name)}/${verb}`, { body: { node } })).body;
  }

  /** A service's output on one node: the tail, or from `offset` (pass back the answer's offset to follow). */
  async serviceLogs(name: string, opts: { node: string; offset?: number; maxBytes?: number; signal?: AbortSignal }): Promise<ServiceLogsResult> {
    const { signal, ...query } = opts;
    return (await this.request<ServiceLogsResult>('GET', `/services/${enc(name)}/logs`, { query: { ...query }, signal })).body;
  }

  // ── artifacts (streamed both ways) ───────────────────────────────────────
  /** Uploads a stream; give `length` when known (the server refuses an oversized one up front). */
  async putArtifact(body: Readable, opts: UploadOptions & { length?: number } = {}): Promise<ArtifactUpload> {
    return uploadStream(this.transport(), '/api/v1/artifacts', body, opts.length, opts);
  }

  async putArtifactFile(file: string, opts: UploadOptions = {}): Promise<ArtifactUpload> {
    return uploadFile(this.transport(), '/api/v1/artifacts', file, opts);
  }

  /** The artifact's bytes as a stream (consume or destroy it). */
  async getArtifact(sha256: string): Promise<{ size: number; etag: string | undefined; body: Readable }> {
    return downloadStream(this.transport(), `/api/v1/artifacts/${enc(sha256)}`);
  }

  /** Downloads into `dest`, verified against the sha before it appears there. */
  async downloadArtifact(sha256: string, dest: string, opts: { onBytes?: (n: number) => void } = {}): Promise<{ size: number }> {
    return downloadToFile(this.transport(), `/api/v1/artifacts/${enc(sha256)}`, sha256, dest, opts.onBytes);
  }

  async artifactMeta(sha256: string): Promise<Artifact> {
    return (await this.request<Artifact>('GET', `/artifacts/${enc(sha256)}/meta`)).body;
  }

  async listArtifacts(query: ArtifactListQuery = {}): Promise<List<Artifact>> {
    return (await this.request<List<Artifact>>('GET', '/artifacts', { query: { ...query } })).body;
  }

  async deleteArtifact(sha256: string): Promise<void> {
    await this.request('DELETE', `/artifacts/${enc(sha256)}`);
  }

  // ── backups ──────────────────────────────────────────────────────────────
  async listBackups(query: BackupListQuery = {}): Promise<List<Backup>> {
    return (await this.request<List<Backup>>('GET', '/backups', { query: { ...query } })).body;
  }

  async getBackup(id: string): Promise<Backup> {
    return (await this.request<Backup>('GET', `/backups/${enc(id)}`)).body;
  }

  async runBackup(body: BackupRun): Promise<BackupRunStarted> {
    return (await this.request<BackupRunStarted>('POST', '/backups/run', { body })).body;
  }

  async restoreBackup(id: string, body: BackupRestore): Promise<Command> {
    return (await this.request<Command>('POST', `/backups/${enc(id)}/restore`, { body })).body;
  }

  async verifyBackup(id: string, body: BackupVerify = {}): Promise<Command> {
    return (await this.request<Command>('POST', `/backups/${enc(id)}/verify`, { body })).body;
  }

  async deleteBackup(id: string): Promise<void> {
    await this.request('DELETE', `/backups/${enc(id)}`);
  }

  async createBackupSchedule(body: BackupScheduleCreate): Promise<BackupSchedule> {
    return (await this.request<BackupSchedule>('POST', '/backup-schedules', { body })).body;
  }

  async listBackupSchedules(): Promise<List<BackupSchedule>> {
    return (await this.request<List<BackupSchedule>>('GET', '/backup-schedules')).body;
  }

  async deleteBackupSchedule(id: string): Promise<void> {
    await this.request('DELETE', `/backup-schedules/${enc(id)}`);
  }

  private transport(): Transport {
    return { baseUrl: this.baseUrl, headers: this.headers(), dispatcher };
  }

  // ── alerts ───────────────────────────────────────────────────────────────
  async listAlerts(query: AlertListQuery = {}): Promise<List<Alert>> {
    return (await this.request<List<Alert>>('GET', '/alerts', { query: { ...query } })).body;
  }

  async getAlert(id: string): Promise<Alert> {
    return (await this.request<Alert>('GET', `/alerts/${enc(id)}`)).body;
  }

  /** Records who (this token's name) acknowledged it; acking again keeps the first ack. */
  async ackAlert(id: string): Promise<Alert> {
    return (await this.request<Alert>('POST', `/alerts/${enc(id)}/ack`)).body;
  }

  // ── webhooks (admin/operator) ────────────────────────────────────────────
  /** The answer holds the signing secret; it is never shown again. */
  async createWebhook(body: WebhookCreate): Promise<WebhookCreated> {
    return (await this.request<WebhookCreated>('POST', '/webhooks', { body })).body;
  }

  async listWebhooks(): Promise<List<Webhook>> {
    return (await this.request<List<Webhook>>('GET', '/webhooks')).body;
  }

  async deleteWebhook(id: string): Promise<void> {
    await this.request('DELETE', `/webhooks/${enc(id)}`);
  }

  async listWebhookDeliveries(id: string, query: DeliveryListQuery = {}): Promise<List<WebhookDelivery>> {
    return (await this.request<List<WebhookDelivery>>('GET', `/webhooks/${enc(id)}/deliveries`, { query: { ...query } })).body;
  }

  // ── tasks ────────────────────────────────────────────────────────────────
  async submitTask(body: TaskCreate): Promise<TaskSubmitResult> {
    const res = await this.request<Task>('POST', '/tasks', { body });
    return { task: res.body, created: res.status === 201 };
  }

  async listTasks(query: TaskListQuery = {}): Promise<List<Task>> {
    return (await this.request<List<Task>>('GET', '/tasks', { query: { ...query } })).body;
  }

  async getTask(id: string, opts: WaitOptions = {}): Promise<TaskDetail> {
    return (await this.request<TaskDetail>('GET', `/tasks/${enc(id)}`, { query: { wait: opts.wait }, signal: opts.signal })).body;
  }

  async cancelTask(id: string): Promise<TaskDetail> {
    return (await this.request<TaskDetail>('POST', `/tasks/${enc(id)}/cancel`)).body;
  }

  async schedulerState(): Promise<SchedulerState> {
    return (await this.request<SchedulerState>('GET', '/scheduler')).body;
  }

  async setSchedulerPaused(paused: boolean): Promise<SchedulerState> {
    return (await this.request<SchedulerState>('PATCH', '/scheduler', { body: { paused } })).body;
  }

  /**
   * A task's output: what is stored so far, then live until the task ends (`follow`, the
   * default), with `state` events on the way and one `end` event last.
   */
  async *taskOutput(id: string, opts: { follow?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<TaskOutputEvent> {
    const own = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, own.signal]) : own.signal;
    const url = this.url(`/api/v1/tasks/${enc(id)}/output`, { follow: opts.follow === false ? 'false' : undefined });
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method: 'GET', headers: { ...this.headers(), accept: 'text/event-stream' }, signal });
    } catch (e) {
      if (signal.aborted) throw e;
      throw ApiError.connectionFailed(this.baseUrl, e);
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => '');
      throw ApiError.fromEnvelope(res.status, parseJson(text));
    }
    try {
      for await (const msg of readSse(res.body as unknown as AsyncIterable<Uint8Array>)) {
        const data = parseJson(msg.data);
        if (msg.event === 'output') yield { kind: 'output', chunk: data as TaskOutputChunk };
        else if (msg.event === 'state') yield { kind: 'state', state: data as TaskStreamState };
        else if (msg.event === 'end') {
          yield { kind: 'end', state: data as TaskStreamState };
          return;
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      throw e;
    } finally {
      own.abort();
    }
  }

  async openApi(): Promise<unknown> {
    return (await this.request<unknown>('GET', '/openapi.json')).body;
  }

  // ── events ───────────────────────────────────────────────────────────────
  /**
   * Opens the SSE stream and resolves once the server has answered, so a caller can
   * subscribe first and then cause the events it wants to see.
   */
  async openEvents(opts: EventsOptions = {}): Promise<EventStream> {
    const own = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, own.signal]) : own.signal;
    const headers: Record<string, string> = { ...this.headers(), accept: 'text/event-stream' };
    if (opts.lastEventId) headers['last-event-id'] = opts.lastEventId;
    const kinds = opts.kinds?.length ? opts.kinds.join(',') : undefined;
    const url = this.url('/api/v1/events', { kinds });
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method: 'GET', headers, signal });
    } catch (e) {
      if (signal.aborted) throw e;
      throw ApiError.connectionFailed(this.baseUrl, e);
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => '');
      throw ApiError.fromEnvelope(res.status, parseJson(text));
    }
    const body = res.body as unknown as AsyncIterable<Uint8Array>;
    async function* iterate(): AsyncGenerator<ReceivedEvent> {
      try {
        for await (const msg of readSse(body)) {
          const event = parseJson(msg.data) as StewardEvent | undefined;
          if (!event || typeof event !== 'object') continue;
          if (typeof event.kind !== 'string') (event as { kind: string }).kind = msg.event;
          yield { id: msg.id, event };
        }
      } catch (e) {
        // Closing or aborting is how a caller says "enough"; that is not an error.
        if (signal.aborted) return;
        throw e;
      } finally {
        own.abort();
      }
    }
    const gen = iterate();
    return {
      [Symbol.asyncIterator]: () => gen,
      close: () => own.abort(),
    };
  }

  /** Follows the event stream until it ends or `signal` aborts. */
  async *events(opts: EventsOptions = {}): AsyncGenerator<ReceivedEvent> {
    const stream = await this.openEvents(opts);
    try {
      yield* stream;
    } finally {
      stream.close();
    }
  }

  // ── plumbing ─────────────────────────────────────────────────────────────
  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  private url(path: string, query?: Query): string {
    const u = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
    }
    return u.toString();
  }

  private async send(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<{ ok: boolean; status: number; body: unknown }> {
    const headers: Record<string, string> = { ...this.headers(), accept: 'application/json' };
    let payload: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(opts.body);
    }
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(opts.raw ? path : `/api/v1${path}`, opts.query), {
        method,
        headers,
        body: payload,
        signal: opts.signal,
      });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      throw ApiError.connectionFailed(this.baseUrl, e);
    }
    const text = res.status === 204 ? '' : await res.text();
    return { ok: res.ok, status: res.status, body: text === '' ? undefined : (parseJson(text) ?? text) };
  }

  private async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<{ status: number; body: T }> {
    const res = await this.send(method, path, opts);
    if (!res.ok) throw ApiError.fromEnvelope(res.status, res.body);
    return { status: res.status, body: res.body as T };
  }
}

function enc(id: string): string {
  return encodeURIComponent(id);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
