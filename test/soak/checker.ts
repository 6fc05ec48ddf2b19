import { existsSync, readFileSync } from 'node:fs';
import type { StewardClient } from '@steward/client';
import type { Command, Service, TaskDetail } from '@steward/protocol';
import { waitFor } from '../support/wait.js';
import type { Fleet } from './fleet.js';
import type { WebhookReceipt, Workload } from './workload.js';

const FINAL_COMMAND = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'expired']);
const FINAL_TASK = new Set(['succeeded', 'failed', 'cancelled']);
const FINAL_JOB = new Set(['succeeded', 'failed', 'cancelled']);
/** Violations kept per invariant (the count is always complete). */
const KEEP = 10;

export interface InvariantResult {
  name: string;
  checked: number;
  violated: number;
  /** The first few violations, each a line saying what and where. */
  examples: string[];
  /** Cases that broke the rule for a reason the product documents (at-least-once after a kill -9): not violations. */
  excused: number;
  excusedExamples: string[];
}

class Invariant implements InvariantResult {
  checked = 0;
  violated = 0;
  examples: string[] = [];
  excused = 0;
  excusedExamples: string[] = [];
  constructor(readonly name: string) {}
  /** `excuse`: why a failed case is allowed (null: it is a violation). */
  check(ok: boolean, what: () => string, excuse: () => string | null = () => null): void {
    this.checked++;
    if (ok) return;
    const why = excuse();
    if (why !== null) {
      this.excused++;
      if (this.excusedExamples.length < KEEP) this.excusedExamples.push(`${what()} — ${why}`);
      return;
    }
    this.violated++;
    if (this.examples.length < KEEP) this.examples.push(what());
  }
  toJSON(): InvariantResult {
    return { name: this.name, checked: this.checked, violated: this.violated, examples: this.examples, excused: this.excused, excusedExamples: this.excusedExamples };
  }
}

/** Runs `fn` over `items` with at most `limit` at once (the store answers quickly; thousands in series would not). */
async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

function linesOf(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

function tally(lines: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) m.set(l, (m.get(l) ?? 0) + 1);
  return m;
}

/** Reads until the store answers (a replica may be between restarts at the last moment: nothing is, after the faults stop, but be safe). */
async function read<T>(fleet: Fleet, what: string, fn: (c: StewardClient) => Promise<T>): Promise<T> {
  return waitFor(what, async () => {
    const c = fleet.client();
    return c ? { v: await fn(c) } : null;
  }, { timeoutMs: 30_000, intervalMs: 200 }).then((r) => r.v);
}

export interface DrainTimings {
  onlineMs: number;
  commandsMs: number;
  tasksMs: number;
  webhooksMs: number;
}

/**
 * After the last fault: waits (bounded) for the fleet to settle, then computes every invariant
 * from the store (through the API) and the effect files. A wait that times out is not an
 * error here: what is still not final or not online is reported as the violation it is.
 */
export async function checkInvariants(
  fleet: Fleet,
  work: Workload,
  o: {
    drainMs: number;
    log: (s: string) => void;
    at: (ms: number) => string;
    faultsBetween: (from: number, to: number) => string;
    /** A replica kill that started between `from` and `to`, described; null if none. */
    replicaKillNear: (from: number, to: number) => string | null;
  },
): Promise<{ invariants: InvariantResult[]; drain: DrainTimings; serviceCommands: Record<string, number> }> {
  const { log } = o;
  const drain: DrainTimings = { onlineMs: 0, commandsMs: 0, tasksMs: 0, webhooksMs: 0 };
  const timed = async <T>(key: keyof DrainTimings, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      drain[key] = Date.now() - t0;
    }
  };

  // 1. No node is offline that is up: every agent process alive is online and connected.
  const online = new Invariant('no node offline that is up');
  const statuses = await timed('onlineMs', async () => {
    await fleet.waitAllOnline(o.drainMs).catch((e: Error) => log(`not all online: ${e.message.slice(0, 300)}`));
    return fleet.nodeStatuses();
  });
  for (const n of statuses) if (n.alive) online.check(n.status === 'online' && n.connected, () => `${n.name}: process alive, node ${n.status}${n.connected ? '' : ', not connected'}`);

  const { items: nodes } = await read(fleet, 'the node list', (c) => c.listNodes({ limit: 1000 }));
  const nameOf = new Map(nodes.map((n) => [n.id, n.name]));

  // The job commands, as the store lists them: each is an accepted command of its node.
  const jobs = await mapLimit(work.jobs, 8, (j) => read(fleet, `job ${j.id}`, (c) => c.getJob(j.id)));
  const all: { id: string; mark: string; node: string }[] = [
    ...work.commands.map((c) => ({ id: c.id, mark: c.mark, node: c.node! })),
    ...jobs.flatMap((j, k) => j.commands.map((c) => ({ id: c.id, mark: work.jobs[k]!.mark, node: nameOf.get(c.nodeId) ?? c.nodeId }))),
  ];

  // 2. Every accepted command reached a final state (waits for it, bounded).
  const byId = new Map<string, Command>();
  await timed('commandsMs', () =>
    waitFor(
      () => `every accepted command final (${all.length - [...byId.values()].filter((c) => FINAL_COMMAND.has(c.state)).length} not yet)`,
      async () => {
        const open = all.filter((c) => !FINAL_COMMAND.has(byId.get(c.id)?.state ?? ''));
        const got = await mapLimit(open, 8, (c) => read(fleet, `command ${c.id}`, (cl) => cl.getCommand(c.id)));
        for (const c of got) byId.set(c.id, c);
        return got.every((c) => FINAL_COMMAND.has(c.state));
      },
      { timeoutMs: o.drainMs, intervalMs: 1000 },
    ).catch((e: Error) => log(e.message.slice(0, 300))),
  );
  const final = new Invariant('every accepted command final');
  for (const c of all) {
    const s = byId.get(c.id)?.state ?? 'unknown';
    final.check(FINAL_COMMAND.has(s), () => `${c.id} (${c.mark} on ${c.node}): ${s}`);
  }
  const jobFinal = new Invariant('every accepted job final');
  const jobsNow = await mapLimit(work.jobs, 8, (j) => read(fleet, `job ${j.id}`, (c) => c.getJob(j.id)));
  for (const j of jobsNow) jobFinal.check(FINAL_JOB.has(j.state), () => `${j.id}: ${j.state} ${JSON.stringify(j.counts)}`);

  // 3. Tasks: every accepted task final (bounded wait).
  let tasks: TaskDetail[] = [];
  await timed('tasksMs', () =>
    waitFor(
      'every accepted task final',
      async () => {
        tasks = await mapLimit(work.tasks, 8, (t) => read(fleet, `task ${t.id}`, (c) => c.getTask(t.id)));
        return tasks.every((t) => FINAL_TASK.has(t.state));
      },
      { timeoutMs: o.drainMs, intervalMs: 1000 },
    ).catch((e: Error) => log(e.message.slice(0, 300))),
  );
  const taskFinal = new Invariant('every accepted task final');
  // For a task still open: the state of each open attempt's task.run command, which says where it hangs.
  const openAttempts = tasks.filter((t) => !FINAL_TASK.has(t.state)).flatMap((t) => t.attemptList.filter((a) => a.state === 'placed' || a.state === 'running'));
  const runCmd = new Map<string, string>();
  // Where the open attempts' nodes stand now (a node online with a stuck attempt holds its slot).
  const nodesNow = new Map((await read(fleet, 'the node list', (c) => c.listNodes({ limit: 1000 })).catch(() => ({ items: nodes }))).items.map((n) => [n.id, n]));
  const ago = (ms: number | null | undefined) => (ms ? `${Math.round((Date.now() - ms) / 1000)}s ago` : 'never');
  for (const a of openAttempts.slice(0, 50)) {
    const c = await read(fleet, `command ${a.commandId}`, (cl) => cl.getCommand(a.commandId)).catch(() => null);
    const n = nodesNow.get(a.nodeId);
    runCmd.set(
      a.id,
      `${c ? `${c.state}, ${c.deliveries} deliveries, dispatched ${ago(c.dispatchedAt)}, started ${ago(c.startedAt)}` : 'unreadable'}; node ${n ? `${n.status}${n.connected ? '' : ' not connected'}` : 'unknown'}`,
    );
  }
  for (const t of tasks) {
    taskFinal.check(FINAL_TASK.has(t.state), () => {
      const attempts = t.attemptList.map((a) => `${a.state}@${nameOf.get(a.nodeId) ?? a.nodeId}${a.error ? `(${a.error.code})` : ''}${runCmd.has(a.id) ? ` [task.run ${runCmd.get(a.id)}]` : ''}`);
      return `${t.id}: ${t.state}${t.reason ? ` (${t.reason})` : ''}, attempts ${JSON.stringify(attempts)}`;
    });
  }

  // 4. The webhook queue drained: nothing pending or being delivered (bounded), so every delivery the store made was sent.
  await timed('webhooksMs', () =>
    waitFor(
      'the webhook queue drained',
      async () => {
        const [p, d] = await Promise.all(['pending', 'delivering'].map((state) => read(fleet, 'deliveries', (c) => c.listWebhookDeliveries(work.webhookId, { state: state as 'pending', limit: 1 }))));
        return p!.items.length === 0 && d!.items.length === 0;
      },
      { timeoutMs: o.drainMs, intervalMs: 500 },
    ).catch((e: Error) => log(e.message.slice(0, 300))),
  );

  // 5. Effects: no mark twice in a node's file; succeeded ⇒ exactly one effect.
  const counts = new Map(fleet.agents.map((a) => [a.name, tally(linesOf(a.effects))]));
  const twice = new Invariant('no effect happened twice');
  for (const [node, m] of counts) for (const [mark, n] of m) twice.check(n === 1, () => `${mark} ${n} times on ${node}`);
  const once = new Invariant('succeeded has exactly one effect');
  for (const c of all) {
    const cmd = byId.get(c.id);
    if (cmd?.state !== 'succeeded') continue;
    const n = counts.get(c.node)?.get(c.mark) ?? 0;
    once.check(n === 1, () => `${c.id} (${c.mark}) succeeded with ${n} effects on ${c.node}`);
  }

  // 6. No task ran twice at once: runs (by process id) of one task must not overlap in time.
  const overlap = new Invariant('no task ran twice at once');
  const idOfMark = new Map(work.tasks.map((t) => [t.mark, t.id]));
  const taskById = new Map(tasks.map((t) => [t.id, t]));
  for (const r of taskRuns(linesOf(work.taskLog))) {
    overlap.check(r.overlap === null, () => {
      const [a, b] = r.overlap!;
      const id = idOfMark.get(r.mark);
      const attempts = (id && taskById.get(id)?.attemptList.map((x) => `${x.id}@${nameOf.get(x.nodeId) ?? x.nodeId}:${x.state}${x.error ? `(${x.error.code})` : ''}`).join(' ')) ?? '';
      const span = (x: TaskRun) => `${x.run} on ${x.node} ${o.at(x.start)}..${o.at(x.last)}`;
      return `${id ?? '(not accepted)'}: ${r.runs} runs; ${span(a)} overlaps ${span(b)}; attempts ${attempts}; faults ${o.faultsBetween(a.start - 15_000, b.start)}`;
    });
  }

  // 7. No webhook delivered twice: one receipt per delivery id, one delivery id per (event, subject).
  const dup = new Invariant('no webhook delivered twice');
  // A replica killed (kill -9) after the receiver got a delivery and before it recorded that is
  // at-least-once by design (docs/alerts.md: receivers drop duplicates by delivery id); the
  // receiver's clock lags under load, so a kill up to 10 s before the first receipt counts.
  for (const c of webhookChecks(work.receipts)) {
    dup.check(
      c.ok,
      () => `${c.what}; faults ${o.faultsBetween(c.from - 15_000, c.to)}`,
      () => {
        const kill = o.replicaKillNear(c.from - 10_000, c.from + 1000);
        return kill && `sent again after ${kill} (the lease ran out): at-least-once after a kill -9`;
      },
    );
  }

  // 8. The service converged: every node runs the service's current revision (bounded wait),
  // and that is no older than the last one the workload saw accepted. It may be newer: a PUT
  // the workload saw fail can have been stored all the same, when its answer was lost to a cut
  // or a replica's kill -9, or PostgreSQL restarted as it committed (503 store_unavailable: the
  // outcome of a commit whose connection drops is unknown). A PUT is idempotent; a retry is safe.
  const svc = new Invariant('service converged on every node');
  const lastRev = work.serviceRevisions.at(-1);
  if (lastRev !== undefined) {
    const converged = (s: Service) => s.revision >= lastRev && fleet.agents.every((a) => s.nodes.some((n) => n.nodeName === a.name && n.revision === s.revision && n.state === 'running'));
    const svcNow = await waitFor(
      'the service converged',
      async () => {
        const s = await read(fleet, 'the service', (c) => c.getService(work.serviceName));
        return converged(s) && { s };
      },
      { timeoutMs: o.drainMs, intervalMs: 1000 },
    ).catch(() => read(fleet, 'the service', (c) => c.getService(work.serviceName)).then((s) => ({ s })));
    const want = svcNow.s.revision;
    for (const a of fleet.agents) {
      const n = svcNow.s.nodes.find((x) => x.nodeName === a.name);
      svc.check(
        want >= lastRev && n?.revision === want && n.state === 'running',
        () => `${a.name}: revision ${n?.revision ?? 'none'} ${n?.state ?? ''} (want ${want} running${want < lastRev ? `; the service is at ${want}, older than ${lastRev}, accepted` : ''})${n?.reason ? `: ${n.reason}` : ''}`,
      );
    }
  }
  // What the service changes cost in commands, by final state (informational).
  const serviceCommands: Record<string, number> = {};
  const applied = await read(fleet, 'service commands', (c) => c.listCommands({ type: 'service.apply', limit: 10_000 }));
  for (const c of applied.items) serviceCommands[c.state] = (serviceCommands[c.state] ?? 0) + 1;

  return { invariants: [online, final, jobFinal, taskFinal, twice, once, overlap, dup, svc].map((i) => i.toJSON()), drain, serviceCommands };
}

export interface TaskRun {
  run: string;
  node: string;
  start: number;
  last: number;
}

/**
 * The runs of each task in the task log (`start|tick|end <mark> <attempt> <node> <ms>` lines):
 * a run is one attempt's process, spanning its first to its last line. `overlap`: two runs of
 * the task whose spans meet, or null.
 */
export function taskRuns(lines: string[]): { mark: string; runs: number; overlap: [TaskRun, TaskRun] | null }[] {
  const runs = new Map<string, Map<string, TaskRun>>();
  for (const l of lines) {
    const [, mark, run, node, ms] = l.split(' ');
    const t = Number(ms);
    if (!mark || !run || !node || !Number.isFinite(t)) continue;
    const byRun = runs.get(mark) ?? new Map<string, TaskRun>();
    runs.set(mark, byRun);
    const span = byRun.get(run);
    byRun.set(run, span ? { ...span, start: Math.min(span.start, t), last: Math.max(span.last, t) } : { run, node, start: t, last: t });
  }
  return [...runs].map(([mark, byRun]) => {
    const spans = [...byRun.values()].sort((a, b) => a.start - b.start);
    let overlap: [TaskRun, TaskRun] | null = null;
    // Sorted by start: a run overlaps an earlier one iff it starts before the latest end so far.
    let latest = spans[0]!;
    for (const s of spans.slice(1)) {
      if (s.start <= latest.last) overlap ??= [latest, s];
      if (s.last > latest.last) latest = s;
    }
    return { mark, runs: spans.length, overlap };
  });
}

/** One check per delivery id (received once) and per event and subject (one delivery id). */
export function webhookChecks(receipts: WebhookReceipt[]): { ok: boolean; what: string; from: number; to: number }[] {
  const out: { ok: boolean; what: string; from: number; to: number }[] = [];
  const perDelivery = new Map<string, WebhookReceipt[]>();
  for (const r of receipts) perDelivery.set(r.delivery, [...(perDelivery.get(r.delivery) ?? []), r]);
  for (const [d, rs] of perDelivery) out.push({ ok: rs.length === 1, what: `delivery ${d} (${rs[0]!.event} ${rs[0]!.subject}) received ${rs.length} times at ${rs.map((r) => new Date(r.at).toISOString()).join(', ')}`, from: rs[0]!.at, to: rs.at(-1)!.at });
  const perSubject = new Map<string, Set<string>>();
  for (const r of receipts) {
    const k = `${r.event} ${r.subject}`;
    perSubject.set(k, (perSubject.get(k) ?? new Set()).add(r.delivery));
  }
  for (const [k, ds] of perSubject) {
    const at = receipts.filter((r) => ds.has(r.delivery)).map((r) => r.at);
    out.push({ ok: ds.size === 1, what: `${k}: ${ds.size} deliveries (${[...ds].join(', ')})`, from: Math.min(...at), to: Math.max(...at) });
  }
  return out;
}
