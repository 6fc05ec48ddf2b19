import { statfs } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { INVENTORY_CAPS, Type, TaskRunPayload, type Static, type TaskModuleReport, type TaskRunResult } from '@steward/protocol';
import { defineCommand, defineModule, HandlerFailure, type CommandContext, type ModuleInstance, type ModuleRuntime } from '../types.js';
import { OrphanRegistry } from './orphans.js';
import { runTask, type RunnerSettings } from './runner.js';
import { GroupSampler } from './sampler.js';

export const TaskSettings = Type.Object(
  {
    slots: Type.Optional(Type.Integer({ minimum: 0, maximum: INVENTORY_CAPS.taskSlots, description: 'tasks at a time (default: CPU cores; the control plane counts no more than this)' })),
    maxOutputBytes: Type.Integer({ minimum: 1, default: 4 * 1024 * 1024 }),
    chunkBytes: Type.Integer({ minimum: 256, maximum: 256 * 1024, default: 16 * 1024 }),
    flushMs: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
    killGraceMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 2000 }),
    sampleMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 250 }),
    tailBytes: Type.Integer({ minimum: 0, maximum: 1024 * 1024, default: 8192 }),
  },
  { additionalProperties: false },
);
export type TaskSettings = Static<typeof TaskSettings>;

const DISK_REFRESH_MS = 30_000;

/** The running part of the module: what runs now, how many slots, the samplers. */
export class TaskPool implements ModuleInstance {
  readonly running = new Map<string, { attemptId: string; taskId: string; fence: AbortController; fenceGraceMs: number }>();
  private diskBytes = 0;
  private diskTimer: NodeJS.Timeout | null = null;
  readonly sampler: GroupSampler;
  readonly orphans: OrphanRegistry;
  readonly runner: RunnerSettings;
  readonly slots: number;
  readonly workDir: string;

  constructor(private readonly rt: ModuleRuntime) {
    const s = rt.settings as TaskSettings;
    this.slots = s.slots ?? rt.config.resources.cpuCores ?? os.availableParallelism();
    this.sampler = new GroupSampler(s.sampleMs);
    this.orphans = new OrphanRegistry(join(rt.dataDir, 'groups'));
    this.workDir = join(rt.dataDir, 'work');
    this.runner = { maxOutputBytes: s.maxOutputBytes, chunkBytes: s.chunkBytes, flushMs: s.flushMs, killGraceMs: s.killGraceMs, tailBytes: s.tailBytes };
  }

  async start(): Promise<void> {
    await this.orphans.killLeftovers(this.rt.log);
    await this.refreshDisk();
    this.diskTimer = setInterval(() => void this.refreshDisk(), DISK_REFRESH_MS);
    this.diskTimer.unref();
  }

  private async refreshDisk(): Promise<void> {
    const configured = this.rt.config.resources.diskBytes;
    if (configured !== undefined) {
      this.diskBytes = configured;
      return;
    }
    try {
      const st = await statfs(this.rt.dataDir);
      this.diskBytes = Number(st.bavail) * Number(st.bsize);
    } catch {
      this.diskBytes = 0;
    }
  }

  report(): TaskModuleReport {
    const cores = this.rt.config.resources.cpuCores || os.availableParallelism() || 1;
    return {
      slots: this.slots,
      running: [...this.running].map(([commandId, r]) => ({ commandId, attemptId: r.attemptId, taskId: r.taskId })),
      load: Math.round((os.loadavg()[0]! / cores) * 100) / 100,
      diskBytes: this.diskBytes,
    };
  }

  async run(p: TaskRunPayload, ctx: CommandContext): Promise<TaskRunResult> {
    if (this.running.size >= this.slots) ctx.log.warn({ slots: this.slots, running: this.running.size }, 'more task attempts than slots were sent here');
    const entry = { attemptId: p.attemptId, taskId: p.taskId, fence: new AbortController(), fenceGraceMs: this.runner.killGraceMs };
    this.running.set(ctx.commandId, entry);
    try {
      const fence = { signal: entry.fence.signal, graceMs: () => entry.fenceGraceMs };
      return await runTask(p, ctx.signal, this.workDir, this.runner, this.sampler, this.orphans, fence, {
        // The attempt's command output: journaled and resent across reconnects (module events are not).
        output: (stream, data) => ctx.output.write(stream, data),
        // On the next turn, after the output written before it (ctx.output flushes on setImmediate too), so the line comes first.
        progress: (percent) => setImmediate(() => ctx.emit('progress', { taskId: p.taskId, attemptId: p.attemptId, percent, at: Date.now() })),
      });
    } finally {
      this.running.delete(ctx.commandId);
    }
  }

  /** Fencing (link/fence.ts): every running attempt is stopped and ends `fenced`, a node loss for the control plane. */
  fence(killGraceMs: number, why: string): number {
    let n = 0;
    for (const r of this.running.values()) {
      if (r.fence.signal.aborted) continue;
      r.fenceGraceMs = Math.min(this.runner.killGraceMs, killGraceMs);
      r.fence.abort(why);
      n++;
    }
    return n;
  }

  async stop(): Promise<void> {
    if (this.diskTimer) clearInterval(this.diskTimer);
    this.sampler.stop();
  }
}

const run = defineCommand({
  type: 'task.run',
  description: 'Runs one attempt of a scheduled task (sent by the task scheduler; not for direct use).',
  payload: TaskRunPayload,
  // A task that was running when the agent died is placed again by the control plane instead.
  safeToRerun: false,
  handler: async (payload, ctx) => {
    const pool = ctx.module as TaskPool | undefined;
    if (!pool) throw new HandlerFailure('module_not_started', 'the task module is not running on this agent');
    return pool.run(payload, ctx);
  },
});

export default defineModule({
  name: 'task',
  description: 'Runs compute tasks placed here by the scheduler: output streaming, progress, CPU and memory use.',
  commands: [run],
  settings: TaskSettings,
  async start(rt) {
    const pool = new TaskPool(rt);
    await pool.start();
    return pool;
  },
});
