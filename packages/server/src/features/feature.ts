import type { FastifyInstance } from 'fastify';
import type { AgentLink } from '../agents/link.js';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import type { JobService } from '../jobs/service.js';
import type { NodeService } from '../nodes/service.js';

/** What a feature is built from: the core services of the control plane. */
export interface FeatureDeps {
  ctx: Context;
  commands: CommandService;
  jobs: JobService;
  nodes: NodeService;
  /** The agent link: `link.modules.register(...)` receives an agent module's reports and events. */
  link: AgentLink;
  /** The control plane's data directory, for features that keep files (artifacts, backups). */
  dataDir: string;
  /** This process's id; several control planes may share one PostgreSQL database. */
  replicaId: string;
}

/**
 * A capability of the control plane beyond the command pipeline (alerts, tasks, services,
 * the dashboard…). Each lives in its own folder and is listed once in `features/index.ts`;
 * adding one touches nothing else. Lifecycle: built → routes → start → (sweep…) → drain → stop.
 */
export interface Feature {
  name: string;
  /** Operator routes under bearer authentication (prefix them with /api/v1). */
  routes?(api: FastifyInstance): void;
  /** Routes with their own authentication or none (agent downloads, the dashboard, /metrics). */
  publicRoutes?(app: FastifyInstance): void;
  /** Called once the HTTP server listens. */
  start?(): Promise<void>;
  /** Called on the control plane's sweep interval; must not throw for routine conditions. */
  sweep?(now: number): Promise<void>;
  /** Stop taking new work (timers, schedulers); called before sockets close. */
  drain?(): Promise<void>;
  /** Release resources; called after the HTTP server closed, before the store closes. */
  stop?(): Promise<void>;
}

export type FeatureFactory = (deps: FeatureDeps) => Feature | Promise<Feature>;
