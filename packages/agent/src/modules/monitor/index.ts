import { MonitorChecksSetPayload, MonitorSettings } from '@steward/protocol';
import { EmptyPayload as Empty } from '@steward/protocol/modules';
import { defineCommand, defineModule, HandlerFailure, type CommandContext } from '../types.js';
import { Monitor } from './monitor.js';
import { SavedCheckSet } from './saved-set.js';

function monitorOf(ctx: CommandContext): Monitor {
  const m = ctx.module as { monitor?: Monitor } | undefined;
  if (!m?.monitor) throw new HandlerFailure('module_not_started', 'the monitor module is not running');
  return m.monitor;
}

const set = defineCommand({
  type: 'monitor.checks.set',
  description:
    'Replaces the node\'s checks with this set (saved; wins over the config file across restarts until monitor.checks.clear). Unchanged checks keep their state.',
  payload: MonitorChecksSetPayload,
  safeToRerun: true,
  handler: (payload, ctx) => monitorOf(ctx).set(payload.checks),
});

const clear = defineCommand({
  type: 'monitor.checks.clear',
  description: 'Forgets the set from the control plane; the config file\'s checks run again.',
  payload: Empty,
  safeToRerun: true,
  handler: (_payload, ctx) => monitorOf(ctx).clear(),
});

const list = defineCommand({
  type: 'monitor.checks.list',
  description: 'Every check with its current state and where the set came from.',
  payload: Empty,
  safeToRerun: true,
  handler: async (_payload, ctx) => monitorOf(ctx).list(),
});

export default defineModule({
  name: 'monitor',
  description: 'Checks on the node (disk, process, TCP, HTTP) with flap damping; firing checks become alerts.',
  commands: [set, clear, list],
  settings: MonitorSettings,
  async start(rt) {
    const settings = rt.settings as MonitorSettings;
    const monitor = new Monitor(settings.checks, new SavedCheckSet(rt.dataDir), rt.log, rt.emit);
    await monitor.start();
    return { monitor, report: () => monitor.report(), stop: () => monitor.stop() };
  },
});
