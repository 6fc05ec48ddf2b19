import type { Feature } from '../core/feature.js';
import { nodeRoutes } from './routes.js';
import type { NodeService } from './service.js';

/** The node inventory: list, show, relabel, change the heartbeat interval, delete. */
export function nodesFeature(deps: { nodes: NodeService }): Feature {
  return { name: 'nodes', routes: (api) => nodeRoutes(api, deps.nodes) };
}
