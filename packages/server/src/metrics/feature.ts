import type { FastifyInstance } from 'fastify';
import type { AgentLink } from '../agents/link.js';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { countCommandsByTypeAndState, countCommandsInState, countJobsInState, countNodesByStatus } from '../store/queries/metrics.js';
import { NODE_STATUSES } from '@steward/protocol';
import { RoundTrips } from './round-trips.js';

/** Submit times older than this (a day) are dropped from the round-trip tracker. */
const TRACK_FOR_MS = 86_400_000;

/**
 * `GET /metrics` in Prometheus text format, behind the operator bearer token (a reader token
 * is enough). What the control plane itself measures is registered here; other features add
 * theirs through `ctx.metrics`.
 */
export function metricsFeature(deps: { ctx: Context; link: Pick<AgentLink, 'count' | 'onHeartbeat'> }): Feature {
  const { ctx, link } = deps;
  const { metrics, store } = ctx;

  metrics.gauge({
    name: 'steward_nodes',
    help: 'Nodes by status (whole fleet, from the store)',
    labelNames: ['status'],
    async collect() {
      this.reset();
      for (const s of NODE_STATUSES) this.set({ status: s }, 0);
      for (const r of await countNodesByStatus(store.db)) this.set({ status: r.status }, r.n);
    },
  });
  metrics.gauge({
    name: 'steward_agents_connected',
    help: 'Agent WebSockets open on this control-plane process',
    collect() {
      this.set(link.count());
    },
  });
  const heartbeats = metrics.counter({ name: 'steward_heartbeats_received_total', help: 'Heartbeats stored by this process' });
  metrics.gauge({
    name: 'steward_commands',
    help: 'Commands in the store by type and state',
    labelNames: ['type', 'state'],
    async collect() {
      this.reset();
      for (const r of await countCommandsByTypeAndState(store.db)) this.set({ type: r.type, state: r.state }, r.n);
    },
  });
  const transitions = metrics.counter({
    name: 'steward_command_transitions_total',
    help: 'Command state changes seen on the event stream, by type and new state',
    labelNames: ['type', 'state'],
  });
  const roundTrip = metrics.histogram({
    name: 'steward_command_round_trip_seconds',
    help: 'From submit (pending) to the final state stored, by type and final state',
    labelNames: ['type', 'state'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600],
  });
  metrics.gauge({
    name: 'steward_job_queue_depth',
    help: 'Commands waiting to be delivered (state pending), whether in a job or alone',
    async collect() {
      this.set(await countCommandsInState(store.db, 'pending'));
    },
  });
  metrics.gauge({
    name: 'steward_jobs_running',
    help: 'Jobs not finished yet',
    async collect() {
      this.set(await countJobsInState(store.db, 'running'));
    },
  });
  const queryTime = metrics.histogram({
    name: 'steward_store_query_seconds',
    help: 'Store statement time by kind (SelectQueryNode, InsertQueryNode, …) and outcome',
    labelNames: ['kind', 'outcome'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  metrics.gauge({
    name: 'steward_event_stream_sequence',
    help: 'Events published on this process since it started',
    collect() {
      this.set(ctx.bus.lastSeq);
    },
  });

  const trips = new RoundTrips((type, state, s) => roundTrip.observe({ type, state }, s));
  const unsubscribers = [
    link.onHeartbeat(() => heartbeats.inc()),
    store.onQuery((t) => queryTime.observe({ kind: t.kind.replace(/QueryNode$/, '').toLowerCase(), outcome: t.failed ? 'error' : 'ok' }, t.ms / 1000)),
    ctx.bus.subscribe(({ event }) => {
      if (event.kind === 'command.state') transitions.inc({ type: event.type, state: event.state });
      trips.onEvent(event);
    }),
  ];

  return {
    name: 'metrics',
    routes(api: FastifyInstance) {
      api.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
        const body = await metrics.text();
        return reply.type(metrics.contentType).send(body);
      });
    },
    async sweep(now: number) {
      trips.forget(now - TRACK_FOR_MS);
    },
    async stop() {
      for (const u of unsubscribers) u();
    },
  };
}
