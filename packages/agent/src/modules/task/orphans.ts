import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { readStat, readStatSync } from './proc.js';

interface Record {
  pid: number;
  startTicks: number;
  commandId: string;
}

/**
 * A task's process group is detached from the agent, so when the agent is killed (kill -9)
 * the group lives on. Each running group is written down here; the next agent start kills
 * those still alive (same pid and start time: not a reused pid), since their attempt is
 * settled elsewhere (interrupted here, placed again by the control plane).
 */
export class OrphanRegistry {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Synchronous on purpose: the record must be on disk before the agent does anything else
   * after the spawn. An async read of /proc queues behind the sampler's reads in libuv's
   * thread pool, and an agent killed in that window left a group nobody would stop.
   */
  add(pid: number, commandId: string): void {
    const st = readStatSync(pid);
    if (!st) return;
    const rec: Record = { pid, startTicks: st.startTicks, commandId };
    writeFileSync(join(this.dir, `${pid}.json`), JSON.stringify(rec));
  }

  remove(pid: number): void {
    rmSync(join(this.dir, `${pid}.json`), { force: true });
  }

  async killLeftovers(log: Logger): Promise<number> {
    let killed = 0;
    for (const name of readdirSync(this.dir)) {
      const file = join(this.dir, name);
      try {
        const rec = JSON.parse(readFileSync(file, 'utf8')) as Record;
        const st = await readStat(rec.pid);
        if (st && st.startTicks === rec.startTicks) {
          process.kill(-rec.pid, 'SIGKILL');
          killed++;
          log.warn({ pid: rec.pid, commandId: rec.commandId }, 'killed the process group of a task left running by a previous agent process');
        }
      } catch {
        // gone already, or not ours to kill
      }
      rmSync(file, { force: true });
    }
    return killed;
  }
}
