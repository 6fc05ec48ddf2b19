import { TaskModuleReport, TaskOutputEventData, TaskProgressEventData } from '@steward/protocol';
import type { AgentLink } from '../agents/link.js';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { AttemptTracker, TASK_RUN } from './attempts.js';
import { registerTaskMetrics } from './metrics.js';
import { NodeFactsKeeper } from './node-facts.js';
import { OutputRecorder } from './output.js';
import { streamOutput } from './output-stream.js';
import type { StreamSlots } from '../core/stream-slots.js';
import { taskRoutes } from './routes.js';
import { Scheduler } from './scheduler.js';
import { TaskService } from './service.js';
import { taskSettings } from './settings.js';

/** Sweeps that scan the attempts table run at most this often. */
const REPAIR_EVERY_MS = 5000;

/**
 * The compute pool: tasks with requirements, placed by the scheduler on nodes running the
 * agent's `task` module, run through the command pipeline as `task.run` commands.
 */
export function tasksFeature(deps: { ctx: Context; commands: CommandService; link: Pick<AgentLink, 'modules'>; replicaId: string; sseSlots: StreamSlots }): Feature {
  const { ctx, commands } = deps;
  const settings = taskSettings();
  registerTaskMetrics(ctx);
  const scheduler = new Scheduler(ctx, commands, settings, deps.replicaId);
  const wake = () => scheduler.wake();
  const tracker = new AttemptTracker(ctx, commands, wake);
  const facts = new NodeFactsKeeper(ctx);
  const recorder = new OutputRecorder(ctx, settings.maxStoredOutputBytes);
  const service = new TaskService(ctx, commands, wake, deps.replicaId);
  const streams = new Set<() => void>();
  let lastRepair = 0;
  let unsubscribe = () => {};

  commands.onTerminal((row) => tracker.commandEnded(row));
  deps.link.modules.register('task', {
    reportSchema: TaskModuleReport,
    eventSchemas: { output: TaskOutputEventData, progress: TaskProgressEventData },
    async report(nodeId, report, at) {
      const rep = report as TaskModuleReport;
      if (await facts.report(nodeId, rep, at)) wake();
      await tracker.reconcile(nodeId, rep.running);
    },
    async event(nodeId, event, data) {
      if (event === 'output') await recorder.output(nodeId, data as TaskOutputEventData);
      else if (event === 'progress') await recorder.progress(nodeId, data as TaskProgressEventData);
    },
  });

  return {
    name: 'tasks',
    routes(api) {
      taskRoutes(api, service, (id, follow, req, reply) => streamOutput(ctx, recorder, streams, deps.sseSlots, id, follow, req, reply));
    },
    async start() {
      unsubscribe = ctx.bus.subscribe(({ event }) => {
        if (event.kind === 'command.state' && event.type === TASK_RUN && event.state === 'running') tracker.commandStarted(event.commandId);
        else if (event.kind === 'node.status') {
          if (event.status === 'offline') void tracker.sweepLostNodes().catch((err) => ctx.log.error({ err }, 'task node-loss sweep failed'));
          wake();
        } else if (event.kind === 'node.changed') {
          if (event.change === 'deleted') void facts.deleted(event.nodeId).then(wake, () => {});
          else void facts.relabel(event.nodeId).then(wake, () => {});
        } else if (event.kind === 'task.state' && (event.state === 'queued' || event.state === 'succeeded' || event.state === 'failed' || event.state === 'cancelled')) {
          // Possibly from another replica: a new task to place or a slot freed.
          wake();
        }
      });
      scheduler.start();
    },
    async sweep(now) {
      await tracker.sweepLostNodes();
      if (now - lastRepair >= REPAIR_EVERY_MS) {
        lastRepair = now;
        await tracker.sweepEndedCommands();
      }
    },
    async drain() {
      unsubscribe();
      await scheduler.drain();
      for (const end of [...streams]) end();
    },
    async stop() {
      await tracker.idle();
    },
  };
}
