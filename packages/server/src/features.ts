import type { AdmissionService } from './admissions/service.js';
import { admissionsFeature } from './admissions/feature.js';
import { agentConfigFeature } from './agent-config/feature.js';
import { agentUpgradesFeature } from './agent-upgrades/feature.js';
import type { AgentLink } from './agents/link.js';
import type { Transport } from './agents/transport.js';
import { alertsFeature } from './alerts/feature.js';
import { approvalsFeature } from './approvals/feature.js';
import { auditFeature } from './audit/feature.js';
import type { AuditService } from './audit/service.js';
import { artifactsFeature } from './artifacts/feature.js';
import type { ArtifactService } from './artifacts/service.js';
import { backupsFeature } from './backups/feature.js';
import { bootagentFeature } from './compat/bootagent/feature.js';
import { backupxFeature } from './compat/backupx/feature.js';
import { commandsFeature } from './commands/feature.js';
import type { CommandService } from './commands/service.js';
import { retireClusterFeature } from './compat/retire-cluster/feature.js';
import type { StreamSlots } from './core/stream-slots.js';
import type { Context } from './core/context.js';
import type { Feature } from './core/feature.js';
import { dashboardFeature } from './dashboard/feature.js';
import { docsFeature } from './docs/feature.js';
import { enrollmentFeature } from './enrollment/feature.js';
import { eventsFeature } from './events/feature.js';
import { installFeature } from './install/feature.js';
import { jobsFeature } from './jobs/feature.js';
import type { JobService } from './jobs/service.js';
import type { JobTracker } from './jobs/tracker.js';
import { metricsFeature } from './metrics/feature.js';
import { nodesFeature } from './nodes/feature.js';
import type { NodeService } from './nodes/service.js';
import { samplesFeature } from './samples/feature.js';
import { servicesFeature } from './services/feature.js';
import { shellFeature } from './shell/feature.js';
import { signingFeature } from './signing/feature.js';
import { tasksFeature } from './tasks/feature.js';
import { tokensFeature } from './tokens/feature.js';
import type { ServerOptions } from './options.js';
import type { ServerTls } from './pki/server-tls.js';
import { pkiFeature } from './pki/feature.js';
import { recordingsFeature } from './recordings/feature.js';
import { pluginsFeature } from './plugins/feature.js';

/**
 * The core services the control plane builds once and offers its features. Each feature's
 * factory declares the (narrower) part it uses, so this is the only place that knows them all.
 */
export interface FeatureDeps {
  ctx: Context;
  /** The agent link: deliver, cancel, configure; `link.modules.register(...)` for module reports. */
  link: AgentLink;
  commands: CommandService;
  jobs: JobService;
  tracker: JobTracker;
  nodes: NodeService;
  /** Blobs (agent packages, service artifacts, backup archives) in the data dir. */
  artifacts: ArtifactService;
  /** The control plane's data directory, for features that keep files. */
  dataDir: string;
  /** This process's id; several control planes may share one PostgreSQL database. */
  replicaId: string;
  /** Who may join over credential-less seed protocols (Retire-Cluster, BootAgent). */
  admissions: AdmissionService;
  /** The server's start options, for features with listeners or switches of their own. */
  options: ServerOptions;
  /**
   * Where a feature adds a way for nodes to reach the agent link (a seed system's protocol):
   * call `use` while the feature is built; the link installs it before the server listens and
   * stops it after its connections close.
   */
  transports: { use(transport: Transport): unknown };
  /** HTTPS with the control plane's CA (or an operator's certificate); null on plain HTTP. */
  tls: ServerTls | null;
  /** The hash-chained audit log the HTTP layer feeds. */
  audit: AuditService;
  /** Long-lived streams (events, task output) each operator token may hold open at once. */
  sseSlots: StreamSlots;
}

export type FeatureFactory = (deps: FeatureDeps) => Feature | Promise<Feature>;

/**
 * Every feature of the control plane, in start order (one line each). Metrics come first so
 * later features can register theirs; commands come before the rest so their sweep runs first
 * (as liveness runs before all); the dashboard comes last because its SPA fallback answers every
 * path nobody else claimed. Stopped in reverse order.
 */
export const FEATURES: FeatureFactory[] = [
  metricsFeature,
  commandsFeature,
  jobsFeature,
  approvalsFeature,
  nodesFeature,
  agentConfigFeature,
  pluginsFeature,
  enrollmentFeature,
  pkiFeature,
  admissionsFeature,
  retireClusterFeature,
  tokensFeature,
  signingFeature,
  auditFeature,
  eventsFeature,
  alertsFeature,
  artifactsFeature,
  installFeature,
  agentUpgradesFeature,
  tasksFeature,
  servicesFeature,
  shellFeature,
  bootagentFeature,
  backupsFeature,
  recordingsFeature,
  backupxFeature,
  samplesFeature,
  docsFeature,
  dashboardFeature,
];
