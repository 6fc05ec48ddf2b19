import { loadavg } from 'node:os';
import { checkInvariants } from './checker.js';
import { Fleet } from './fleet.js';
import { FaultInjector, seededRng } from './faults.js';
import type { SoakReport } from './report.js';
import { Workload } from './workload.js';

export interface SoakOptions {
  minutes: number;
  seed: number;
  agents: number;
  /** Bound of each wait after the faults stop (online, commands final, tasks final, webhooks drained). */
  drainMs?: number;
  log?: (s: string) => void;
}

const MiB = 1024 * 1024;

/**
 * The chaos soak: a fleet (fleet.ts), work flowing (workload.ts) and faults injected
 * (faults.ts) for `minutes`; then the faults stop, everything is healed, and the invariants
 * are computed from the store and the effect files (checker.ts). The seed drives the fault
 * choices and the workload's choices (timing still varies from run to run).
 */
export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const t0 = Date.now();
  const log = o.log ?? ((s: string) => console.log(`[soak +${((Date.now() - t0) / 1000).toFixed(1)}s] ${s}`));
  log(`seed ${o.seed} (--seed ${o.seed} replays these choices), ${o.agents} agents, ${o.minutes} min`);
  const rssMax = [0, 0];
  const report: SoakReport = {
    seed: o.seed,
    agents: o.agents,
    chaosMs: 0,
    totalMs: 0,
    faults: { 'agent-kill': 0, 'replica-kill': 0, 'proxy-cut': 0, 'proxy-freeze': 0, 'pg-restart': 0 },
    workload: {},
    refusals: {},
    serviceCommands: {},
    invariants: [],
    drain: { onlineMs: 0, commandsMs: 0, tasksMs: 0, webhooksMs: 0 },
    replicaRssMiB: { max: [], end: [] },
    load: [],
    faultEvents: [],
  };
  const fleet = await Fleet.start({ agents: o.agents, log });
  log(`fleet dir (logs, effect files, task runs): ${fleet.dir}`);
  report.dir = fleet.dir;
  const rng = seededRng(o.seed);
  // Two streams from the one seed: the faults' choices do not shift when the workload's do.
  const work = new Workload(fleet, seededRng(Math.floor(rng() * 2 ** 32)), log);
  const faults = new FaultInjector(fleet, seededRng(Math.floor(rng() * 2 ** 32)), log);
  const sample = setInterval(() => fleet.serverRss().forEach((b, i) => (rssMax[i] = Math.max(rssMax[i]!, b ?? 0))), 1000);
  try {
    await work.start();
    faults.start();
    const chaosStart = Date.now();
    let lastProgress = chaosStart;
    while (Date.now() - chaosStart < o.minutes * 60_000) {
      await new Promise((r) => setTimeout(r, 1000));
      if (Date.now() - lastProgress >= 60_000) {
        lastProgress = Date.now();
        log(`progress: faults ${JSON.stringify(faults.counts)} work ${JSON.stringify(work.counts())} rss MiB ${fleet.serverRss().map((b) => (b === null ? '-' : Math.round(b / MiB))).join('/')}`);
      }
    }
    log('chaos over: stopping the faults (each healed) and the workload');
    await Promise.all([faults.stop(), work.stop()]);
    report.chaosMs = Date.now() - chaosStart;
    const at = (ms: number) => `+${((ms - t0) / 1000).toFixed(1)}s`;
    const faultsBetween = (from: number, to: number) => {
      const near = faults.events.filter((f) => f.at <= to && f.healedAt >= from);
      return near.length ? near.map((f) => `${f.kind} ${f.target} ${at(f.at)}..${at(f.healedAt)}`).join(', ') : 'none';
    };
    const replicaKillNear = (from: number, to: number) => {
      const k = faults.events.find((f) => f.kind === 'replica-kill' && f.at >= from && f.at <= to);
      return k ? `the kill of ${k.target} at ${at(k.at)}` : null;
    };
    const checked = await checkInvariants(fleet, work, { drainMs: o.drainMs ?? 120_000, log, at, faultsBetween, replicaKillNear });
    report.invariants = checked.invariants;
    report.drain = checked.drain;
    report.serviceCommands = checked.serviceCommands;
  } catch (e) {
    report.error = (e as Error).stack ?? String(e);
    log(`soak error: ${report.error}`);
  } finally {
    clearInterval(sample);
    report.faults = { ...faults.counts };
    report.faultEvents = faults.events.map((f) => ({ ...f, at: f.at - t0, healedAt: f.healedAt - t0 }));
    report.workload = work.counts();
    report.refusals = { ...work.refusals };
    report.replicaRssMiB = { max: rssMax.map((b) => Math.round(b / MiB)), end: fleet.serverRss().map((b) => (b === null ? null : Math.round(b / MiB))) };
    report.load = loadavg();
    await work.close().catch(() => {});
    await fleet.stop().catch((e: Error) => log(`fleet stop: ${e.message}`));
    report.totalMs = Date.now() - t0;
  }
  return report;
}
