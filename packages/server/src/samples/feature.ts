import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { IdParams, NodeSamples, NodeSamplesQuery, type NodeSample } from '@steward/protocol';
import type { AgentLink } from '../agents/link.js';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import type { NodeService } from '../nodes/service.js';
import { deleteNodeSamples, listNodeSamples, pruneNodeSamples } from '../store/queries/samples.js';
import type { NodeSamplesTable } from '../store/schema.js';
import { SampleWriter } from './sample-writer.js';

/** How long samples are kept: the node charts show the last hour. */
export const SAMPLE_RETENTION_MS = 3_600_000;
const PRUNE_EVERY_MS = 60_000;
/** An hour at a 1 s heartbeat; normal nodes (15 s) have 240. */
const MAX_SAMPLES = 3600;

/**
 * Recent heartbeat figures per node for the dashboard's charts, kept in the store (not in
 * memory) so any replica can answer for any node and a restart keeps the hour.
 */
export function samplesFeature(deps: { ctx: Context; link: Pick<AgentLink, 'onHeartbeat'>; nodes: NodeService }): Feature {
  const { ctx, link, nodes } = deps;
  const writer = new SampleWriter(ctx.store, ctx.log);
  const stopObserving = link.onHeartbeat((nodeId, stats, at) => writer.add(nodeId, stats, at));
  const stopListening = ctx.bus.subscribe(({ event }) => {
    if (event.kind === 'node.changed' && event.change === 'deleted') {
      void deleteNodeSamples(ctx.store.db, event.nodeId).catch((err) => ctx.log.warn({ err }, 'could not delete node samples'));
    }
  });
  let lastPrune = 0;
  return {
    name: 'samples',
    routes(api: FastifyInstance) {
      const r = api.withTypeProvider<TypeBoxTypeProvider>();
      r.get(
        '/api/v1/nodes/:id/samples',
        { schema: { tags: ['nodes'], params: IdParams, querystring: NodeSamplesQuery, response: { 200: NodeSamples } } },
        async (req) => {
          const node = await nodes.row(req.params.id);
          const since = Math.max(req.query.since ?? 0, ctx.now() - SAMPLE_RETENTION_MS);
          const rows = await listNodeSamples(ctx.store.db, node.id, since, MAX_SAMPLES);
          return { items: rows.map(sampleFromRow), retentionMs: SAMPLE_RETENTION_MS };
        },
      );
    },
    async start() {
      writer.start();
    },
    async sweep(now: number) {
      if (now - lastPrune < PRUNE_EVERY_MS) return;
      lastPrune = now;
      await pruneNodeSamples(ctx.store.db, now - SAMPLE_RETENTION_MS);
    },
    async drain() {
      stopObserving();
      stopListening();
    },
    async stop() {
      await writer.stop();
    },
  };
}

function sampleFromRow(r: NodeSamplesTable): NodeSample {
  return {
    at: r.at,
    cpuPercent: r.cpu_percent,
    memoryUsedBytes: r.memory_used,
    memoryTotalBytes: r.memory_total,
    diskUsedBytes: r.disk_used,
    diskTotalBytes: r.disk_total,
    load1: r.load1,
    load5: r.load5,
    load15: r.load15,
  };
}
