import { PLUGINS_MODULE, PluginInvalidData, PluginLoadedData, PluginUnloadedData, type Static } from '@steward/protocol';
import type { AgentLink } from '../agents/link.js';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';

/**
 * Agent plugins (issue 15): what agents say about their plugins — loaded, unloaded, refused with
 * `plugin_invalid` — becomes a `node.plugin` event (SSE, dashboard), and a refusal is logged, so
 * the operator sees a broken plugin without reading the node's log. The plugins' command types
 * reach the control plane as the node's catalog (`catalog.update`), like any module's.
 */
export function pluginsFeature(deps: { ctx: Context; link: AgentLink }): Feature {
  const { ctx } = deps;
  deps.link.modules.register(PLUGINS_MODULE, {
    eventSchemas: { 'plugin.loaded': PluginLoadedData, 'plugin.unloaded': PluginUnloadedData, 'plugin.invalid': PluginInvalidData },
    event: async (nodeId, event, data, at) => {
      if (event === 'plugin.loaded') {
        const d = data as Static<typeof PluginLoadedData>;
        ctx.bus.publish({ kind: 'node.plugin', at, nodeId, plugin: d.name, change: 'loaded', version: d.version });
      } else if (event === 'plugin.unloaded') {
        const d = data as Static<typeof PluginUnloadedData>;
        ctx.bus.publish({ kind: 'node.plugin', at, nodeId, plugin: d.name, change: 'unloaded', ...(d.version ? { version: d.version } : {}) });
      } else if (event === 'plugin.invalid') {
        const d = data as Static<typeof PluginInvalidData>;
        ctx.log.warn({ nodeId, plugin: d.name, code: d.code }, `agent refused a plugin: ${d.message}`);
        ctx.bus.publish({ kind: 'node.plugin', at, nodeId, plugin: d.name, change: 'invalid', reason: d.message });
      }
    },
  });
  return { name: 'plugins' };
}
