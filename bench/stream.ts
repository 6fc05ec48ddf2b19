import { Agent as HttpAgent } from 'node:http';
import { writeFileSync } from 'node:fs';
import { StewardClient } from '@steward/client';
import type { EnrollmentTokenCreated, EnrollResponse } from '@steward/protocol';
import { Api } from './api.js';
import { pool, sleep } from './concurrency.js';
import { startControlPlane, type Launcher } from './control-plane-process.js';
import { readMemory, round1 } from './processes.js';
import { quietLogger, SimAgent, SimFleet, simInventory } from './sim-agent.js';

export interface StreamOptions {
  agents: number;
  /** Output bytes each agent streams through exec.run. */
  bytesPerAgent: number;
  launcher: Launcher;
  log: (line: string) => void;
}

export interface StreamResult {
  agents: number;
  bytesPerAgent: number;
  /** Job submitted → `done` on its output stream, ms. */
  totalMs: number;
  /** Output bytes the job's SSE reader received (should be agents × bytesPerAgent). */
  bytesRead: number;
  /** The control plane with every agent connected and nothing running, MiB. */
  idleRssMiB: number;
  /** Peak RSS during the job (VmHWM, reset before it when the kernel allows), MiB. */
  peakRssMiB: number;
  /** peak − idle, MiB: what streaming cost in memory. */
  growthMiB: number;
  /** Whether the peak was measured from the window's start (clear_refs worked) or from process start. */
  peakSince: 'window' | 'process start';
}

/** What the control plane may grow by while 50 nodes stream 1 MiB each (stated in docs/sessions.md). */
export const STREAM_GROWTH_BOUND_MIB = 150;

/**
 * N simulated agents (real AgentConnection) each stream `bytesPerAgent` of exec.run output at
 * once while one reader follows the job's output stream (as `steward run` does); reports how far
 * the control plane's memory grew over its idle size.
 */
export async function runStream(o: StreamOptions): Promise<StreamResult> {
  const cp = await startControlPlane({ launcher: o.launcher });
  const api = new Api(cp.url, cp.token, 4);
  const enrollApi = new Api(cp.url, null, 16);
  const httpAgent = new HttpAgent({ keepAlive: false, maxSockets: Infinity });
  const fleet = new SimFleet();
  const sims: SimAgent[] = [];
  try {
    const { token } = await api.post<EnrollmentTokenCreated>('/api/v1/enrollment-tokens', { uses: o.agents, ttlSeconds: 3600 });
    const enrolled = await pool(o.agents, 16, (i) => {
      const name = `stream-${String(i + 1).padStart(3, '0')}`;
      return enrollApi.post<EnrollResponse>('/agent/v1/enroll', { token, name, inventory: simInventory(name, false, true) });
    });
    for (const e of enrolled) {
      sims.push(new SimAgent({ server: cp.url, name: e.name, credential: e.credential, fleet, httpAgent, log: quietLogger(fleet), heartbeat: true, execStreamBytes: o.bytesPerAgent }));
    }
    for (const s of sims) s.start();
    await Promise.all(sims.map((s) => s.welcome));
    await sleep(2000); // the hello/heartbeat burst settles
    const idle = readMemory(cp.pid);
    // Resets VmHWM so the peak is the window's own (Linux: clear_refs 5).
    let peakSince: StreamResult['peakSince'] = 'window';
    try {
      writeFileSync(`/proc/${cp.pid}/clear_refs`, '5');
    } catch {
      peakSince = 'process start';
    }
    o.log(`stream: ${o.agents} agents connected; control plane idle at ${idle.rssMiB} MiB; streaming ${o.bytesPerAgent} bytes each`);

    const client = new StewardClient({ baseUrl: cp.url, token: cp.token });
    const t0 = performance.now();
    const job = await client.createJob({ target: { all: true }, type: 'exec.run', payload: { command: 'cat', args: ['/dev/null'] } });
    let bytesRead = 0;
    let done = false;
    for await (const e of client.jobOutput(job.id)) {
      if (e.event === 'output') bytesRead += e.chunk.data.length;
      else if (e.event === 'done') {
        done = e.job.state === 'succeeded';
        break;
      }
    }
    const totalMs = performance.now() - t0;
    const peak = readMemory(cp.pid);
    if (!done) throw new Error('the job did not succeed');
    if (bytesRead !== o.agents * o.bytesPerAgent) throw new Error(`read ${bytesRead} output bytes, want ${o.agents * o.bytesPerAgent}`);
    return {
      agents: o.agents,
      bytesPerAgent: o.bytesPerAgent,
      totalMs: Math.round(totalMs),
      bytesRead,
      idleRssMiB: idle.rssMiB,
      peakRssMiB: peak.peakRssMiB,
      growthMiB: round1(peak.peakRssMiB - idle.rssMiB),
      peakSince,
    };
  } finally {
    await Promise.all(sims.map((s) => s.stop().catch(() => {})));
    httpAgent.destroy();
    await enrollApi.close().catch(() => {});
    await api.close().catch(() => {});
    await cp.stop();
  }
}
