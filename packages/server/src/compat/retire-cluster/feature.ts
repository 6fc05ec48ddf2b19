import type { AdmissionService } from '../../admissions/service.js';
import { RetireClusterListener } from '../../agents/transports/retire-cluster/listener.js';
import type { Transport } from '../../agents/transport.js';
import type { Context } from '../../core/context.js';
import { envPositiveInt } from '../../core/env.js';
import type { Feature } from '../../core/feature.js';
import { RetireClusterGateway } from './gateway.js';

/** The part of the server options this feature reads (ServerOptions; not imported: the root imports features). */
export interface RetireClusterOptions {
  retireClusterListen?: string;
  retireClusterMessageTimeoutMs?: number;
  retireClusterMaxConnections?: number;
}

/**
 * Retire-Cluster devices as Steward nodes (`--retire-cluster-listen`, off by default): the
 * TCP JSON gateway its published worker talks to, admission for its credential-less devices,
 * and tasks handed out when a device asks. See docs/compatibility.md.
 */
export function retireClusterFeature(deps: {
  ctx: Context;
  admissions: AdmissionService;
  options: RetireClusterOptions;
  transports: { use(transport: Transport): unknown };
}): Feature {
  const { ctx, admissions, options } = deps;
  if (!options.retireClusterListen) return { name: 'retire-cluster' };
  let gateway: RetireClusterGateway | null = null;
  const listener = new RetireClusterListener(
    {
      listen: options.retireClusterListen,
      messageTimeoutMs: options.retireClusterMessageTimeoutMs ?? envPositiveInt('STEWARD_RETIRE_CLUSTER_MESSAGE_TIMEOUT_MS', 'milliseconds') ?? 10_000,
      maxConnections: options.retireClusterMaxConnections ?? envPositiveInt('STEWARD_RETIRE_CLUSTER_MAX_CONNECTIONS') ?? 256,
      log: ctx.log,
    },
    (host) => {
      const g = new RetireClusterGateway(ctx, admissions, host);
      gateway = g;
      return (message, peer) => g.handle(message, peer);
    },
  );
  deps.transports.use(listener);
  return {
    name: 'retire-cluster',
    async stop() {
      gateway?.close();
    },
  };
}
