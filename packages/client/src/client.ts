import { AgentConfigApi } from './resources/agent-config.js';
import { AgentUpgradesApi } from './resources/agent-upgrades.js';
import { AlertsApi, WebhooksApi } from './resources/alerts.js';
import { ArtifactsApi } from './resources/artifacts.js';
import { ApprovalsApi, AuditApi } from './resources/audit.js';
import { BackupsApi } from './resources/backups.js';
import { CommandsApi, JobsApi } from './resources/commands.js';
import { EventsApi } from './resources/events.js';
import { OutputApi } from './resources/output.js';
import { AdmissionsApi, NodesApi } from './resources/nodes.js';
import { Resource } from './resources/resource.js';
import { ServerApi } from './resources/server.js';
import { ServicesApi } from './resources/services.js';
import { SessionsApi } from './resources/sessions.js';
import { ShellApi } from './resources/shell.js';
import { TasksApi } from './resources/tasks.js';
import { EnrollmentApi, TokensApi } from './resources/tokens.js';
import { HttpTransport, type StewardClientOptions } from './transport.js';

export type { StewardClientOptions } from './transport.js';
export type { List, WaitOptions } from './resources/resource.js';
export type { HealthStatus } from './resources/server.js';
export type { SubmitResult } from './resources/commands.js';
export type { TaskSubmitResult, TaskStreamState, TaskOutputEvent } from './resources/tasks.js';
export type { EventsOptions, ReceivedEvent, EventStream } from './resources/events.js';
export type { CommandOutputEvent, JobOutputEvent, CommandOutputOptions } from './resources/output.js';

/** Every resource whose methods the client carries, one file each under resources/. */
const RESOURCES = [
  ServerApi,
  TokensApi,
  EnrollmentApi,
  NodesApi,
  AdmissionsApi,
  CommandsApi,
  JobsApi,
  OutputApi,
  ServicesApi,
  ArtifactsApi,
  BackupsApi,
  AlertsApi,
  WebhooksApi,
  TasksApi,
  EventsApi,
  AuditApi,
  ApprovalsApi,
  SessionsApi,
  ShellApi,
  AgentConfigApi,
  AgentUpgradesApi,
] as const;

// The methods of every resource, flat on the client (`client.listNodes()`), typed by this
// merged interface and copied onto the prototype below.
export interface StewardClient
  extends ServerApi,
    TokensApi,
    EnrollmentApi,
    NodesApi,
    AdmissionsApi,
    CommandsApi,
    JobsApi,
    OutputApi,
    ServicesApi,
    ArtifactsApi,
    BackupsApi,
    AlertsApi,
    WebhooksApi,
    TasksApi,
    EventsApi,
    AuditApi,
    ApprovalsApi,
    SessionsApi,
    ShellApi,
    AgentConfigApi,
    AgentUpgradesApi {}

/** Typed client for the Steward REST API; one method per route, over one HTTP transport. */
export class StewardClient extends Resource {
  readonly baseUrl: string;

  constructor(opts: StewardClientOptions) {
    const http = new HttpTransport(opts);
    super(http);
    this.baseUrl = http.baseUrl;
  }
}

for (const api of RESOURCES) {
  for (const name of Object.getOwnPropertyNames(api.prototype)) {
    if (name === 'constructor') continue;
    if (Object.hasOwn(StewardClient.prototype, name)) throw new Error(`two client resources define ${name}`);
    Object.defineProperty(StewardClient.prototype, name, Object.getOwnPropertyDescriptor(api.prototype, name)!);
  }
}
