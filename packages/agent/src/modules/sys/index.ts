import os from 'node:os';
import { EmptyPayload, SysPingPayload } from '@steward/protocol/modules';
import { readDistro } from '../../system/inventory.js';
import { defineCommand, defineModule } from '../types.js';

const ping = defineCommand({
  type: 'sys.ping',
  description: 'Answers at once; proves the node is connected and executing commands.',
  payload: SysPingPayload,
  safeToRerun: true,
  async handler(payload) {
    return payload.echo === undefined ? { pong: true, at: Date.now() } : { pong: true, at: Date.now(), echo: payload.echo };
  },
});

const info = defineCommand({
  type: 'sys.info',
  description: 'Host, OS, CPU, memory and agent process facts.',
  payload: EmptyPayload,
  safeToRerun: true,
  async handler() {
    const cpus = os.cpus();
    const distro = await readDistro();
    return {
      hostname: os.hostname(),
      os: { platform: process.platform, type: os.type(), release: os.release(), version: os.version(), ...(distro ? { distro } : {}) },
      arch: os.arch(),
      cpu: { model: cpus[0]?.model.trim() ?? '', cores: os.availableParallelism() },
      memory: { totalBytes: os.totalmem(), freeBytes: os.freemem() },
      uptimeSeconds: Math.floor(os.uptime()),
      agent: { pid: process.pid, nodeVersion: process.version, uptimeSeconds: Math.floor(process.uptime()) },
    };
  },
});

export default defineModule({
  name: 'sys',
  description: 'Liveness and basic facts about the node.',
  commands: [ping, info],
});
