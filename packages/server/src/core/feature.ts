import type { FastifyInstance } from 'fastify';

/**
 * A capability of the control plane: nodes, commands, jobs, alerts, tasks, services, the
 * dashboard… Each lives in its own folder as `<area>/feature.ts` (one factory, its routes beside
 * its service) and is listed once in `src/features.ts`; adding one touches that list and, when it
 * needs a core service the list does not pass yet, `FeatureDeps`.
 * Lifecycle: built → routes → start → (sweep…) → drain → stop.
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

