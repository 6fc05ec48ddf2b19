import type {
  Admission,
  AgentUpgrade,
  AgentUpgradeDetail,
  AdmissionApprove,
  ApiToken,
  Alert,
  Backup,
  BackupRestore,
  BackupSchedule,
  SchedulerState,
  Service,
  Task,
  TaskDetail,
  Command,
  DashboardSummary,
  EnrollmentToken,
  EnrollmentTokenCreate,
  EnrollmentTokenCreated,
  ServerCa,
  Job,
  JobDetail,
  Node,
  NodeSample,
  NodeSummary,
  SessionRecording,
  ConfigDocument,
  ConfigDocumentPut,
  NodeConfigView,
} from './types.js';
import { ApiError } from '@steward/client/browser';
import { takePrefetch } from './prefetch.js';

// The client's error class, so the page and the CLI tell failures apart the same way.
export { ApiError };

type Query = Record<string, string | number | boolean | undefined>;

function withQuery(path: string, q?: Query): string {
  if (!q) return path;
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `${path}?${s}` : path;
}

/** The typed wrapper every view uses; one per signed-in token. */
export class Api {
  /** Called on any 401, so the app can return to the sign-in page. */
  onUnauthorized: (e: ApiError) => void = () => {};

  constructor(readonly token: string) {}

  async request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    let res: Response;
    try {
      const early = method === 'GET' && !query ? takePrefetch(path, this.token) : undefined;
      res = await (early ?? fetch(withQuery(path, query), {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      }));
    } catch {
      throw new ApiError(0, 'unreachable', 'The control plane cannot be reached. It may be restarting; retrying shortly helps.');
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      const err = new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `${res.status} ${res.statusText}`, e?.details);
      if (res.status === 401) this.onUnauthorized(err);
      throw err;
    }
    return json as T;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, undefined, query);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body ?? {});
  }

  delete(path: string): Promise<void> {
    return this.request<void>('DELETE', path);
  }

  // --- nodes
  summary = (): Promise<DashboardSummary> => this.get<DashboardSummary>('/api/v1/dashboard/summary');
  nodeSummaries = async (): Promise<NodeSummary[]> => (await this.get<{ items: NodeSummary[] }>('/api/v1/dashboard/nodes')).items;
  node = (id: string): Promise<Node> => this.get<Node>(`/api/v1/nodes/${encodeURIComponent(id)}`);
  samples = async (id: string, since?: number): Promise<NodeSample[]> =>
    (await this.get<{ items: NodeSample[] }>(`/api/v1/nodes/${encodeURIComponent(id)}/samples`, { since })).items;

  // --- admissions (devices of credential-less protocols waiting to join)
  listAdmissions = async (q: { state?: Admission['state'] } = {}): Promise<Admission[]> =>
    (await this.get<{ items: Admission[] }>('/api/v1/admissions', q)).items;
  approveAdmission = (id: string, body: AdmissionApprove = {}): Promise<Admission> =>
    this.post<Admission>(`/api/v1/admissions/${encodeURIComponent(id)}/approve`, body);
  rejectAdmission = (id: string): Promise<Admission> => this.post<Admission>(`/api/v1/admissions/${encodeURIComponent(id)}/reject`);

  // --- the signed-in token (its role decides which actions the page offers)
  self = (): Promise<ApiToken> => this.get<ApiToken>('/api/v1/tokens/self');

  // --- commands and jobs
  commands = async (q: { node?: string; state?: string; type?: string; job?: string; limit?: number } = {}): Promise<Command[]> =>
    (await this.get<{ items: Command[] }>('/api/v1/commands', q)).items;
  command = (id: string, waitSeconds?: number): Promise<Command> =>
    this.get<Command>(`/api/v1/commands/${encodeURIComponent(id)}`, { wait: waitSeconds });
  submit = (body: { node: string; type: string; payload?: Record<string, unknown>; timeoutMs?: number }): Promise<Command> =>
    this.post<Command>('/api/v1/commands', body);
  cancelCommand = (id: string): Promise<Command> => this.post<Command>(`/api/v1/commands/${encodeURIComponent(id)}/cancel`);
  agentUpgrades = async (): Promise<AgentUpgrade[]> => (await this.get<{ items: AgentUpgrade[] }>('/api/v1/agent-upgrades', { limit: 500 })).items;
  agentUpgrade = (id: string): Promise<AgentUpgradeDetail> => this.get<AgentUpgradeDetail>(`/api/v1/agent-upgrades/${encodeURIComponent(id)}`);
  jobs = async (q: { state?: string; limit?: number } = {}): Promise<Job[]> => (await this.get<{ items: Job[] }>('/api/v1/jobs', q)).items;
  /** The job with every command: the API gives them a page at a time (`next` → `?after=`). */
  job = async (id: string): Promise<JobDetail> => {
    const path = `/api/v1/jobs/${encodeURIComponent(id)}`;
    const first = await this.get<JobDetail>(path);
    const commands = [...first.commands];
    for (let after = first.next; after; ) {
      const page = await this.get<JobDetail>(path, { after });
      commands.push(...page.commands);
      after = page.next;
    }
    return { ...first, commands, next: null };
  };

  // --- enrollment
  enrollmentTokens = async (): Promise<EnrollmentToken[]> =>
    (await this.get<{ items: EnrollmentToken[] }>('/api/v1/enrollment-tokens')).items;
  createEnrollmentToken = (body: EnrollmentTokenCreate): Promise<EnrollmentTokenCreated> =>
    this.post<EnrollmentTokenCreated>('/api/v1/enrollment-tokens', body);
  deleteEnrollmentToken = (id: string): Promise<void> => this.delete(`/api/v1/enrollment-tokens/${encodeURIComponent(id)}`);
  /** The control plane's CA pin, for the agent command line. */
  serverCa = (): Promise<ServerCa> => this.get<ServerCa>('/api/v1/server/ca');

  // --- alerts
  alerts = async (q: { state?: string; acked?: boolean; nodeId?: string; limit?: number } = {}): Promise<Alert[]> =>
    (await this.get<{ items: Alert[] }>('/api/v1/alerts', q)).items;
  ackAlert = (id: string): Promise<Alert> => this.post<Alert>(`/api/v1/alerts/${encodeURIComponent(id)}/ack`);

  // --- tasks
  tasks = async (q: { state?: string; node?: string; priority?: string; limit?: number } = {}): Promise<Task[]> =>
    (await this.get<{ items: Task[] }>('/api/v1/tasks', q)).items;
  task = (id: string): Promise<TaskDetail> => this.get<TaskDetail>(`/api/v1/tasks/${encodeURIComponent(id)}`);
  cancelTask = (id: string): Promise<TaskDetail> => this.post<TaskDetail>(`/api/v1/tasks/${encodeURIComponent(id)}/cancel`);
  scheduler = (): Promise<SchedulerState> => this.get<SchedulerState>('/api/v1/scheduler');

  // --- services
  services = async (): Promise<Service[]> => (await this.get<{ items: Service[] }>('/api/v1/services')).items;
  service = (name: string): Promise<Service> => this.get<Service>(`/api/v1/services/${encodeURIComponent(name)}`);

  // --- backups
  backups = async (q: { node?: string; schedule?: string; limit?: number } = {}): Promise<Backup[]> =>
    (await this.get<{ items: Backup[] }>('/api/v1/backups', q)).items;
  backupSchedules = async (): Promise<BackupSchedule[]> => (await this.get<{ items: BackupSchedule[] }>('/api/v1/backup-schedules')).items;
  restoreBackup = (id: string, body: BackupRestore): Promise<Command> => this.post<Command>(`/api/v1/backups/${encodeURIComponent(id)}/restore`, body);

  // --- desired agent configuration
  agentConfigs = async (): Promise<ConfigDocument[]> => (await this.get<{ items: ConfigDocument[] }>('/api/v1/agent-config')).items;
  putAgentConfig = (name: string, body: ConfigDocumentPut): Promise<ConfigDocument> =>
    this.request<ConfigDocument>('PUT', `/api/v1/agent-config/${encodeURIComponent(name)}`, body);
  deleteAgentConfig = (name: string): Promise<void> => this.delete(`/api/v1/agent-config/${encodeURIComponent(name)}`);
  nodeConfig = (id: string): Promise<NodeConfigView> => this.get<NodeConfigView>(`/api/v1/nodes/${encodeURIComponent(id)}/config`);

  // --- terminal sessions (a session is a shell.session command; its output is the command's output stream)
  openShell = (node: string, body: { cols: number; rows: number; term?: string }): Promise<Command> =>
    this.post<Command>(`/api/v1/nodes/${encodeURIComponent(node)}/shell`, body);
  shellInput = (id: string, seq: number, data: string): Promise<void> => this.post<void>(`/api/v1/commands/${encodeURIComponent(id)}/input`, { seq, data });
  shellResize = (id: string, cols: number, rows: number): Promise<void> => this.post<void>(`/api/v1/commands/${encodeURIComponent(id)}/resize`, { cols, rows });
  sessions = async (q: { node?: string; limit?: number } = {}): Promise<SessionRecording[]> =>
    (await this.get<{ items: SessionRecording[] }>('/api/v1/sessions', q)).items;
  deleteSession = (id: string): Promise<void> => this.delete(`/api/v1/sessions/${encodeURIComponent(id)}`);
  /** The recording (asciicast v2 text; not JSON, so not through `request`). */
  recording = async (id: string): Promise<string> => {
    const res = await fetch(`/api/v1/sessions/${encodeURIComponent(id)}/recording`, { headers: { authorization: `Bearer ${this.token}` }, cache: 'no-store' });
    if (!res.ok) throw new ApiError(res.status, `http_${res.status}`, `the recording could not be read (${res.status})`);
    return res.text();
  };
}
