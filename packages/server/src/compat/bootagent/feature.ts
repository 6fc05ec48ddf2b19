import { BOOTAGENT_DEFAULT_STEP_S, type Labels } from '@steward/protocol';
import type { AdmissionService } from '../../admissions/service.js';
import { BootAgentTransport } from '../../agents/transports/bootagent/transport.js';
import type { ArtifactService } from '../../artifacts/service.js';
import type { Context } from '../../core/context.js';
import type { Feature } from '../../core/feature.js';
import type { Transport } from '../../agents/transport.js';
import { parseListen } from '../../core/listen.js';
import { getNodeRow } from '../../store/queries/nodes.js';
import { listServiceNodeRows, listServiceRows } from '../../store/queries/services.js';
import { fromJson } from '../../store/rows.js';

export interface BootAgentOptions {
  /** `HOST:PORT` of the BootAgent listener; off when unset. */
  bootagentListen?: string;
  /** `svrlist` handed to BootAgents in config jobs; default: the address each device reached. */
  bootagentServers?: string[];
}

/**
 * BootAgent devices (seed 003) as nodes of protocol `bootagent`: their child agents are
 * Steward services. Off unless `--bootagent-listen` is given.
 */
export function bootagentFeature(deps: {
  ctx: Context;
  admissions: AdmissionService;
  artifacts: ArtifactService;
  options: BootAgentOptions;
  transports: { use(transport: Transport): unknown };
}): Feature {
  const { ctx, options } = deps;
  if (!options.bootagentListen) return { name: 'bootagent' };
  const { host, port } = parseListen(options.bootagentListen, '--bootagent-listen', 'bootagentListen');
  const db = () => ctx.store.db;
  const transport = new BootAgentTransport({
    host,
    port,
    servers: options.bootagentServers?.length ? options.bootagentServers : undefined,
    log: ctx.log.child({ transport: 'bootagent' }),
    now: () => ctx.now(),
    async admit(req) {
      const a = await deps.admissions.admit({ protocol: 'bootagent', ...req, heartbeatIntervalMs: BOOTAGENT_DEFAULT_STEP_S * 1000 });
      if (a.state !== 'approved') return a;
      return { state: 'approved', node: { id: a.node.id, labels: fromJson<Labels>(a.node.labels) ?? {}, heartbeatIntervalMs: a.node.heartbeat_interval_ms } };
    },
    async reportedRevisions(nodeId) {
      const rows = await listServiceNodeRows(db(), { nodeId });
      return new Map(rows.filter((r) => r.revision !== null).map((r) => [r.service, r.revision!]));
    },
    async declaredServices() {
      const rows = [...(await listServiceRows(db())), ...(await listServiceRows(db(), { deleted: true }))];
      return new Set(rows.map((r) => r.name));
    },
    async openArtifact(sha256) {
      const { artifact, stream } = await deps.artifacts.open(sha256);
      return { size: artifact.size, stream };
    },
    nodeExists: async (nodeId) => (await getNodeRow(db(), nodeId)) !== undefined,
  });
  deps.transports.use(transport);
  return { name: 'bootagent' };
}
