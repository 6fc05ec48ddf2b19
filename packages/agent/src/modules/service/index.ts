import { join } from 'node:path';
import {
  ServiceApplyPayload,
  ServiceLogsPayload,
  ServiceNamePayload,
  Type,
  type Static,
} from '@steward/protocol';
import { defineCommand, defineModule, HandlerFailure, type CommandContext } from '../types.js';
import { DEFAULT_MAX_STREAM_BYTES, NO_OUTPUT } from '../../core/output.js';
import { followLog } from './follow.js';
import { Installer } from './installer.js';
import { chooseLimits } from './limits.js';
import { Supervisor } from './supervisor.js';

export const ServiceSettings = Type.Object(
  {
    servicesDir: Type.Optional(Type.String({ minLength: 1, description: 'default <agent data dir>/services' })),
    cgroup: Type.Union([Type.Literal('auto'), Type.Literal('v1'), Type.Literal('v2'), Type.Literal('off')], { default: 'auto' }),
    cgroupRoot: Type.String({ minLength: 1, default: '/sys/fs/cgroup' }),
    cgroupParent: Type.String({ pattern: '^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$', default: 'steward', description: 'cgroups are <root>[/<controller>]/<parent>/<service>' }),
    pollIntervalMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 200, description: 'adopted-process liveness and RSS watch' }),
    logMaxBytes: Type.Integer({ minimum: 1024, default: 10 * 1024 * 1024 }),
    logKeep: Type.Integer({ minimum: 0, maximum: 100, default: 3 }),
  },
  { additionalProperties: false },
);
export type ServiceSettings = Static<typeof ServiceSettings>;

function supervisorOf(ctx: CommandContext): Supervisor {
  const s = ctx.module as unknown as { supervisor?: Supervisor } | undefined;
  if (!s?.supervisor) throw new HandlerFailure('module_not_started', 'the service supervisor is not running');
  return s.supervisor;
}

function unknownService(name: string): HandlerFailure {
  return new HandlerFailure('unknown_service', `no service named ${name} on this node`, { details: { name } });
}

const apply = defineCommand({
  type: 'service.apply',
  description: 'Installs (or upgrades to) a service spec at a revision; rolls back when the new version fails its health check.',
  payload: ServiceApplyPayload,
  // Idempotent by revision: re-running after an agent crash finishes the same install.
  safeToRerun: true,
  handler: async (p, ctx) => {
    const res = await supervisorOf(ctx).apply(p.revision, p.spec, ctx.signal);
    if (res.outcome === 'installed' || res.outcome === 'unchanged') return res;
    // The cause's code goes with the error, so the result keeps its one shape.
    const { cause, ...result } = res;
    throw new HandlerFailure(res.outcome, res.reason ?? res.outcome, { result, ...(cause ? { details: { cause } } : {}) });
  },
});

const remove = defineCommand({
  type: 'service.remove',
  description: 'Stops a service and removes its files.',
  payload: ServiceNamePayload,
  safeToRerun: true,
  handler: (p, ctx) => supervisorOf(ctx).remove(p.name),
});

function imperative(verb: 'start' | 'stop' | 'restart' | 'status', description: string) {
  return defineCommand({
    type: `service.${verb}`,
    description,
    payload: ServiceNamePayload,
    safeToRerun: verb !== 'restart',
    handler: async (p, ctx) => {
      const sup = supervisorOf(ctx);
      const out =
        verb === 'start' ? await sup.operatorStart(p.name) : verb === 'stop' ? await sup.operatorStop(p.name) : verb === 'restart' ? await sup.operatorRestart(p.name) : sup.status(p.name);
      if (!out) throw unknownService(p.name);
      return out;
    },
  });
}

/** How long before its timeout a follow stops on its own (at most a tenth of the timeout). */
const FOLLOW_MARGIN_MS = 2000;

const logs = defineCommand({
  type: 'service.logs',
  description: "Reads a service's output log: the tail, or from an offset; with follow, streams it as command output until cancelled.",
  payload: ServiceLogsPayload,
  safeToRerun: true,
  handler: async (p, ctx) => {
    const sup = supervisorOf(ctx);
    if (p.follow) {
      if (!sup.status(p.name)) throw unknownService(p.name);
      // Asked for on the inbound API: nothing would be streamed, the caller would wait for nothing.
      if (ctx.output === NO_OUTPUT) throw new HandlerFailure('follow_not_streamed', 'follow needs a command from the control plane; its output is streamed there');
      return followLog({
        path: sup.logPath(p.name),
        offset: p.offset,
        tailBytes: p.maxBytes ?? 64 * 1024,
        signal: ctx.signal,
        // Ends on its own a little before the executor's timeout, so a follow that ran its time succeeds.
        until: Date.now() + ctx.timeoutMs - Math.min(FOLLOW_MARGIN_MS, Math.floor(ctx.timeoutMs / 10)),
        maxBytes: ctx.config.exec.maxStreamBytes ?? DEFAULT_MAX_STREAM_BYTES,
        exists: () => sup.status(p.name) !== null,
        write: (data) => ctx.output.write('stdout', data),
      });
    }
    const chunk = sup.logs(p.name, p.offset, p.maxBytes ?? 64 * 1024);
    if (!chunk) throw unknownService(p.name);
    return chunk;
  },
});

export default defineModule({
  name: 'service',
  description: 'Supervised services: checksummed installs, restart policy, limits, upgrades with rollback.',
  settings: ServiceSettings,
  commands: [
    apply,
    remove,
    imperative('start', 'Starts a stopped service on this node.'),
    imperative('stop', 'Stops a service on this node; it stays stopped until started or applied again.'),
    imperative('restart', 'Stops and starts a service on this node.'),
    imperative('status', "A service's state on this node."),
    logs,
  ],
  async start(rt) {
    const settings = rt.settings as ServiceSettings;
    const limits = chooseLimits({ cgroup: settings.cgroup, root: settings.cgroupRoot, parent: settings.cgroupParent }, rt.log);
    rt.log.info({ limits: limits.mode, why: limits.why ?? undefined }, 'service supervisor limits');
    const installer = new Installer(settings.servicesDir ?? join(rt.config.dataDir, 'services'), rt.link);
    const supervisor = new Supervisor({
      stateFile: join(rt.dataDir, 'state.json'),
      installer,
      limits,
      log: rt.log,
      pollIntervalMs: settings.pollIntervalMs,
      logMaxBytes: settings.logMaxBytes,
      logKeep: settings.logKeep,
      emit: rt.emit,
    });
    supervisor.start();
    return {
      supervisor,
      report: () => supervisor.report(),
      stop: () => supervisor.stop(),
    };
  },
});
