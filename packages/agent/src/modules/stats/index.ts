import { EmptyPayload } from '@steward/protocol/modules';
import { getStatsCollector } from '../../system/stats.js';
import { defineCommand, defineModule } from '../types.js';

const get = defineCommand({
  type: 'stats.get',
  description: 'A fresh resource snapshot, the same shape a heartbeat carries.',
  payload: EmptyPayload,
  safeToRerun: true,
  handler: () => getStatsCollector().collect(),
});

export default defineModule({
  name: 'stats',
  description: 'CPU, load, memory, disk and network usage on demand.',
  commands: [get],
});
