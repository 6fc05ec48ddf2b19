import { describe, expect, it } from 'vitest';
import { ATTEMPT_STATES, ATTEMPT_TRANSITIONS, newId, TASK_STATES, TASK_TRANSITIONS, type AttemptState, type TaskState } from '@steward/protocol';
import { insertNode, updateNodeRow } from '../../src/store/queries/nodes.js';
import { dueQueuedTasks, getTaskRetryPolicy, getTaskRow, insertTaskOnce, markPlaced, setQueuedReason, transitionTask } from '../../src/store/queries/tasks.js';
import { activeAttemptCounts, attemptsOnLostNodes, attemptsWithEndedCommands, insertAttempts, listAttemptRows, transitionAttempt } from '../../src/store/queries/task-attempts.js';
import { deleteTaskNode, getNodeFactsSource, onlineTaskNodes, refreshTaskNodeLabels, upsertTaskNode } from '../../src/store/queries/task-nodes.js';
import { commandOutputOfTaskAfter, insertOutput, outputAfter } from '../../src/store/queries/task-output.js';
import { insertOutputChunks } from '../../src/store/queries/command-output.js';
import { claimLease, getSchedulerRow, releaseLease } from '../../src/store/queries/task-scheduler.js';
import { insertCommands } from '../../src/store/queries/commands.js';
import { newCommandRow } from '../../src/commands/service.js';
import type { TaskAttemptsTable, TaskNodesTable, TasksTable } from '../../src/store/schema.js';
import { endAttempt, retryDelay } from '../../src/tasks/outcome.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { nodeRow, T0 } from '../helpers/rows.js';
import { testContext } from '../helpers/context.js';
import { Link } from '../../src/agents/link.js';
import { CommandSigner } from '../../src/security/signing-key.js';
import { CatalogCache } from '../../src/commands/catalogs.js';
import { PayloadChecker } from '../../src/commands/payload-check.js';
import { CommandService } from '../../src/commands/service.js';
import { AttemptTracker } from '../../src/tasks/attempts.js';
import { fenceWaitMs, taskFence } from '../../src/core/task-fence.js';

function taskRow(over: Partial<TasksTable> = {}): TasksTable {
  return {
    id: newId('task'),
    request_id: null,
    request_hash: null,
    kind: 'exec',
    payload: JSON.stringify({ command: 'true' }),
    requirements: '{}',
    priority: 'normal',
    priority_rank: 1,
    strategy: null,
    timeout_ms: 60_000,
    max_retries: 0,
    retry_delay_ms: 1000,
    retry_on_node_loss: 1,
    state: 'queued',
    reason: null,
    node_id: null,
    attempts: 0,
    current_attempt_id: null,
    progress: null,
    exit_code: null,
    error: null,
    retry_at: null,
    queued_at: T0,
    created_at: T0,
    started_at: null,
    finished_at: null,
    ...over,
  };
}

function attemptRow(task: TasksTable, nodeId: string, over: Partial<TaskAttemptsTable> = {}): TaskAttemptsTable {
  return {
    id: newId('att'),
    task_id: task.id,
    number: task.attempts + 1,
    node_id: nodeId,
    command_id: newId('cmd'),
    state: 'placed',
    placed_at: T0,
    started_at: null,
    finished_at: null,
    exit_code: null,
    signal: null,
    cpu_ms: null,
    peak_memory_bytes: null,
    progress: null,
    output_bytes: 0,
    output_truncated: 0,
    tail: null,
    error: null,
    ...over,
  };
}

function taskNode(nodeId: string, over: Partial<TaskNodesTable> = {}): TaskNodesTable {
  return {
    node_id: nodeId,
    slots: 2,
    cpu_cores: 4,
    memory_bytes: 8 * 2 ** 30,
    disk_bytes: 1e10,
    platform: 'linux',
    arch: 'x64',
    capabilities: '[]',
    labels: '{}',
    load: 0,
    updated_at: T0,
    ...over,
  };
}

describe.each(storeTargets())('tasks on $name', (target) => {
  const ctx = useFreshStore(target);

  /** A task placed on a fresh node, as the scheduler stores it. */
  async function placed(over: Partial<TasksTable> = {}, nodeStatus = 'online') {
    const db = ctx.store.db;
    const node = nodeRow({ status: nodeStatus });
    await insertNode(db, node);
    const task = taskRow(over);
    await insertTaskOnce(db, task);
    const attempt = attemptRow(task, node.id);
    await ctx.store.tx(async (tx) => {
      await markPlaced(tx, [{ taskId: task.id, nodeId: node.id, attemptId: attempt.id, number: 1 }]);
      await insertAttempts(tx, [attempt]);
    });
    return { node, task: (await getTaskRow(db, task.id))!, attempt };
  }

  it('dedupes by request id: the second insert returns the first row', async () => {
    const db = ctx.store.db;
    const a = taskRow({ request_id: 'r1', request_hash: 'h1' });
    const b = taskRow({ request_id: 'r1', request_hash: 'h2' });
    expect((await insertTaskOnce(db, a)).created).toBe(true);
    const second = await insertTaskOnce(db, b);
    expect(second.created).toBe(false);
    expect(second.row.id).toBe(a.id);
    expect(second.row.request_hash).toBe('h1');
  });

  it('applies every task transition the table allows and refuses every other', async () => {
    const db = ctx.store.db;
    for (const from of TASK_STATES) {
      for (const to of TASK_STATES) {
        const t = taskRow({ state: from });
        await insertTaskOnce(db, t);
        const moved = await transitionTask(db, t.id, to as TaskState);
        expect(Boolean(moved), `${from} → ${to}`).toBe(TASK_TRANSITIONS[from].includes(to));
        expect((await getTaskRow(db, t.id))!.state).toBe(moved ? to : from);
      }
    }
  });

  it('applies every attempt transition the table allows and refuses every other', async () => {
    const db = ctx.store.db;
    const task = taskRow();
    await insertTaskOnce(db, task);
    let n = 0;
    for (const from of ATTEMPT_STATES) {
      for (const to of ATTEMPT_STATES) {
        const a = attemptRow(task, 'node_x', { state: from, number: ++n });
        await insertAttempts(db, [a]);
        const moved = await transitionAttempt(db, a.id, to as AttemptState);
        expect(Boolean(moved), `${from} → ${to}`).toBe(ATTEMPT_TRANSITIONS[from].includes(to));
      }
    }
  });

  it('a task moves only while the attempt is its current one', async () => {
    const { task, attempt } = await placed();
    expect(await transitionTask(ctx.store.db, task.id, 'running', {}, 'att_other')).toBeUndefined();
    expect((await transitionTask(ctx.store.db, task.id, 'running', {}, attempt.id))?.state).toBe('running');
  });

  it('orders the queue by priority, then age, with aging lifting old low-priority tasks; retry_at holds a task back', async () => {
    const db = ctx.store.db;
    const agingMs = 60_000;
    const now = T0 + 10 * agingMs;
    const rows = [
      taskRow({ id: 'task_normal_old', priority: 'normal', priority_rank: 1, queued_at: now - 30_000 }),
      taskRow({ id: 'task_high_new', priority: 'high', priority_rank: 2, queued_at: now - 1000 }),
      taskRow({ id: 'task_normal_new', priority: 'normal', priority_rank: 1, queued_at: now - 2000 }),
      // Waited 3 aging intervals: low (0) + 3 = 3 > high (2).
      taskRow({ id: 'task_low_ancient', priority: 'low', priority_rank: 0, queued_at: now - 3 * agingMs - 1 }),
      taskRow({ id: 'task_critical_backoff', priority: 'critical', priority_rank: 3, queued_at: now, retry_at: now + 1 }),
      taskRow({ id: 'task_running', state: 'running', priority_rank: 3 }),
    ];
    for (const r of rows) await insertTaskOnce(db, r);
    const due = await dueQueuedTasks(db, now, agingMs, 100);
    expect(due.map((r) => r.id)).toEqual(['task_low_ancient', 'task_high_new', 'task_normal_old', 'task_normal_new']);
    const later = await dueQueuedTasks(db, now + 1, agingMs, 2);
    expect(later.map((r) => r.id)).toEqual(['task_low_ancient', 'task_critical_backoff']);
  });

  it('counts active attempts per node and lists only online nodes with task facts', async () => {
    const db = ctx.store.db;
    const a = await placed();
    const b = await placed({}, 'offline');
    await upsertTaskNode(db, taskNode(a.node.id));
    await upsertTaskNode(db, taskNode(b.node.id, { slots: 5 }));
    // Upsert updates in place.
    await upsertTaskNode(db, taskNode(a.node.id, { slots: 3, load: 0.5 }));
    const online = await onlineTaskNodes(db);
    expect(online.map((n) => [n.node_id, n.slots, n.load])).toEqual([[a.node.id, 3, 0.5]]);
    const counts = await activeAttemptCounts(db);
    expect(counts.get(a.node.id)).toBe(1);
    expect(counts.get(b.node.id)).toBe(1);
    await transitionAttempt(db, a.attempt.id, 'succeeded');
    expect((await activeAttemptCounts(db)).get(a.node.id)).toBeUndefined();
  });

  it('reads a node\'s facts source and copies its labels into the task facts', async () => {
    const db = ctx.store.db;
    const node = nodeRow({ labels: '{"role":"db"}' });
    await insertNode(db, node);
    expect(await getNodeFactsSource(db, node.id)).toEqual({ labels: node.labels, inventory: node.inventory });
    expect(await getNodeFactsSource(db, 'node_gone')).toBeUndefined();
    await upsertTaskNode(db, taskNode(node.id, { labels: node.labels }));
    await updateNodeRow(db, node.id, { labels: '{"role":"web"}' });
    await refreshTaskNodeLabels(db, node.id, T0 + 50);
    expect(await onlineTaskNodes(db)).toEqual([taskNode(node.id, { labels: '{"role":"web"}', updated_at: T0 + 50 })]);
    // Without task facts there is nothing to refresh, and no row appears.
    await deleteTaskNode(db, node.id);
    await refreshTaskNodeLabels(db, node.id, T0 + 60);
    expect(await onlineTaskNodes(db)).toEqual([]);
    // Facts of a node that is gone keep their labels (the column is never emptied).
    await upsertTaskNode(db, taskNode('node_gone'));
    await refreshTaskNodeLabels(db, 'node_gone', T0 + 70);
    expect(await db.selectFrom('task_nodes').select(['labels', 'updated_at']).where('node_id', '=', 'node_gone').execute()).toEqual([{ labels: '{}', updated_at: T0 }]);
  });

  it('reads a task\'s retry policy', async () => {
    const db = ctx.store.db;
    const t = taskRow({ max_retries: 3, retry_delay_ms: 2500, retry_on_node_loss: 0 });
    await insertTaskOnce(db, t);
    expect(await getTaskRetryPolicy(db, t.id)).toEqual({ max_retries: 3, retry_delay_ms: 2500, retry_on_node_loss: 0 });
    expect(await getTaskRetryPolicy(db, 'task_gone')).toBeUndefined();
  });

  it('markPlaced moves only tasks still queued (a cancel that won keeps its state)', async () => {
    const db = ctx.store.db;
    const t1 = taskRow();
    const t2 = taskRow({ state: 'cancelled' });
    await insertTaskOnce(db, t1);
    await insertTaskOnce(db, t2);
    const ok = await markPlaced(db, [
      { taskId: t1.id, nodeId: 'n1', attemptId: 'a1', number: 1 },
      { taskId: t2.id, nodeId: 'n1', attemptId: 'a2', number: 1 },
    ]);
    expect([...ok]).toEqual([t1.id]);
    expect(await getTaskRow(db, t1.id)).toMatchObject({ state: 'placed', node_id: 'n1', current_attempt_id: 'a1', attempts: 1 });
    expect((await getTaskRow(db, t2.id))!.state).toBe('cancelled');
  });

  it('stores queued reasons only on tasks still queued', async () => {
    const db = ctx.store.db;
    const q = taskRow();
    const r = taskRow({ state: 'running' });
    await insertTaskOnce(db, q);
    await insertTaskOnce(db, r);
    await setQueuedReason(db, [q.id, r.id], 'no online node has 64 GB memory');
    expect((await getTaskRow(db, q.id))!.reason).toBe('no online node has 64 GB memory');
    expect((await getTaskRow(db, r.id))!.reason).toBeNull();
  });

  it('the lease: one owner at a time, renewable, taken over only after it expires, released', async () => {
    const db = ctx.store.db;
    expect(await claimLease(db, 'replica_a', T0, 10_000)).toBe(true);
    expect(await claimLease(db, 'replica_b', T0 + 5000, 10_000)).toBe(false);
    expect(await claimLease(db, 'replica_a', T0 + 5000, 10_000)).toBe(true); // renew → until T0 + 15 s
    expect(await claimLease(db, 'replica_b', T0 + 14_000, 10_000)).toBe(false);
    expect(await claimLease(db, 'replica_b', T0 + 15_001, 10_000)).toBe(true);
    expect((await getSchedulerRow(db)).owner).toBe('replica_b');
    await releaseLease(db, 'replica_a'); // not the owner: no effect
    expect((await getSchedulerRow(db)).owner).toBe('replica_b');
    await releaseLease(db, 'replica_b');
    expect(await claimLease(db, 'replica_a', T0 + 15_002, 10_000)).toBe(true);
  });

  it('concurrent claims of a free lease: exactly one wins', async () => {
    const db = ctx.store.db;
    const owners = Array.from({ length: 8 }, (_, i) => `replica_${i}`);
    const wins = await Promise.all(owners.map((o) => ctx.store.tx((tx) => claimLease(tx, o, T0, 10_000))));
    expect(wins.filter(Boolean)).toHaveLength(1);
  });

  it('a placement transaction whose fence fails rolls back: nothing is placed', async () => {
    const db = ctx.store.db;
    await claimLease(db, 'replica_b', T0, 10_000);
    const t = taskRow();
    await insertTaskOnce(db, t);
    await expect(
      ctx.store.tx(async (tx) => {
        await markPlaced(tx, [{ taskId: t.id, nodeId: 'n1', attemptId: 'a1', number: 1 }]);
        if (!(await claimLease(tx, 'replica_a', T0 + 1, 10_000))) throw new Error('lease lost');
      }),
    ).rejects.toThrow('lease lost');
    expect((await getTaskRow(db, t.id))!.state).toBe('queued');
  });

  it('success ends the task with the exit code and resource use', async () => {
    const { task, attempt } = await placed();
    const r = await ctx.store.tx((db) => endAttempt(db, attempt, { state: 'succeeded', result: { exitCode: 0, cpuMs: 120, peakMemoryBytes: 4096, tail: 'ok\n' }, nodeLoss: false }, T0 + 10));
    expect(r!.task).toMatchObject({ state: 'succeeded', exit_code: 0, finished_at: T0 + 10, progress: 100 });
    expect((await listAttemptRows(ctx.store.db, task.id))[0]).toMatchObject({ state: 'succeeded', cpu_ms: 120, peak_memory_bytes: 4096, tail: 'ok\n' });
    // A duplicate end changes nothing.
    expect(await ctx.store.tx((db) => endAttempt(db, attempt, { state: 'failed', nodeLoss: false }, T0 + 20))).toBeUndefined();
  });

  it('a failure is retried with exponential backoff until maxRetries, then the task fails', async () => {
    const db = ctx.store.db;
    const { task, node } = await placed({ max_retries: 2, retry_delay_ms: 1000 });
    let current = (await listAttemptRows(db, task.id))[0]!;
    const fail = { state: 'failed' as const, result: { exitCode: 1 }, error: { code: 'nonzero_exit', message: 'exited with code 1' }, nodeLoss: false };
    const retryAts: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const now = T0 + i * 100_000;
      const r = await ctx.store.tx((tx) => endAttempt(tx, current, fail, now));
      if (i <= 2) {
        expect(r!.task).toMatchObject({ state: 'queued', current_attempt_id: null, exit_code: 1 });
        retryAts.push(r!.task!.retry_at! - now);
        const next = attemptRow(r!.task!, node.id, { number: i + 1 });
        await ctx.store.tx(async (tx) => {
          await markPlaced(tx, [{ taskId: task.id, nodeId: node.id, attemptId: next.id, number: i + 1 }]);
          await insertAttempts(tx, [next]);
        });
        current = next;
      } else {
        expect(r!.task).toMatchObject({ state: 'failed', exit_code: 1 });
        expect(JSON.parse(r!.task!.error!)).toMatchObject({ code: 'nonzero_exit' });
      }
    }
    expect(retryAts).toEqual([1000, 2000]);
    expect(retryDelay(1000, 30)).toBe(300_000);
    expect((await listAttemptRows(db, task.id)).map((a) => a.state)).toEqual(['failed', 'failed', 'failed']);
  });

  it('node loss requeues at once without using a retry, or fails the task when retryOnNodeLoss is false', async () => {
    const lost = { state: 'lost' as const, error: { code: 'node_lost', message: 'gone' }, nodeLoss: true };
    const a = await placed({ max_retries: 0 });
    const r = await ctx.store.tx((db) => endAttempt(db, a.attempt, lost, T0 + 5));
    expect(r!.task).toMatchObject({ state: 'queued', retry_at: null, current_attempt_id: null });
    expect(r!.attempt).toMatchObject({ state: 'lost', started_at: null });
    const b = await placed({ retry_on_node_loss: 0 });
    const s = await ctx.store.tx((db) => endAttempt(db, b.attempt, lost, T0 + 5));
    expect(s!.task).toMatchObject({ state: 'failed' });
  });

  it('finds active attempts on offline or deleted nodes, and attempts whose command already ended', async () => {
    const db = ctx.store.db;
    const on = await placed();
    const off = await placed({}, 'offline');
    const orphan = taskRow();
    await insertTaskOnce(db, orphan);
    const ghost = attemptRow(orphan, 'node_deleted');
    await insertAttempts(db, [ghost]);
    const lost = await attemptsOnLostNodes(db);
    expect(lost.map((l) => l.attempt.id).sort()).toEqual([off.attempt.id, ghost.id].sort());
    // With when the node was last heard from (the fence counts from it); a deleted node has none.
    expect(lost.find((l) => l.attempt.id === ghost.id)).toMatchObject({ lastSeenAt: null, heartbeatIntervalMs: null });
    expect(lost.find((l) => l.attempt.id === off.attempt.id)).toMatchObject({ lastSeenAt: off.node.last_seen_at, heartbeatIntervalMs: off.node.heartbeat_interval_ms });
    expect(lost.find((l) => l.attempt.id === off.attempt.id)!.attempt).toEqual(off.attempt);
    const cmd = { ...newCommandRow({ type: 'task.run', payload: {}, timeoutMs: 1000, ttlMs: 1000 }, on.node.id, T0), id: on.attempt.command_id, state: 'succeeded' };
    await insertCommands(db, [cmd]);
    expect(await attemptsWithEndedCommands(db)).toEqual([on.attempt.command_id]);
  });

  it('an attempt on an offline node is lost only once the fence has passed since the node was last heard from', async () => {
    const clock = { now: T0 };
    const tctx = testContext(ctx.store, clock);
    const link = new Link(tctx, 'replica-test', CommandSigner.ephemeral());
    const tracker = new AttemptTracker(tctx, new CommandService(tctx, link, new PayloadChecker(), new CatalogCache()), () => {});
    const off = await placed({}, 'offline');
    const wait = fenceWaitMs(taskFence(tctx.settings, off.node.heartbeat_interval_ms));
    // Offline, but its agent may still be running the attempt until its fence, kill grace and margin have passed.
    clock.now = off.node.last_seen_at! + wait - 1;
    expect(await tracker.sweepLostNodes()).toBe(0);
    expect((await listAttemptRows(ctx.store.db, off.task.id)).map((a) => a.state)).toEqual(['placed']);
    expect((await getTaskRow(ctx.store.db, off.task.id))?.state).toBe('placed');
    clock.now += 1;
    expect(await tracker.sweepLostNodes()).toBe(1);
    expect((await listAttemptRows(ctx.store.db, off.task.id)).map((a) => a.state)).toEqual(['lost']);
    expect((await getTaskRow(ctx.store.db, off.task.id))).toMatchObject({ state: 'queued', current_attempt_id: null });
  });

  it('the repair pass ends every attempt whose command ended, even when one of them cannot be ended', async () => {
    const db = ctx.store.db;
    const tctx = testContext(ctx.store, { now: T0 + 10 });
    const warnings: string[] = [];
    tctx.log.warn = ((_o: unknown, msg: string) => void warnings.push(msg)) as typeof tctx.log.warn;
    const tracker = new AttemptTracker(tctx, new CommandService(tctx, new Link(tctx, 'replica-test', CommandSigner.ephemeral()), new PayloadChecker(), new CatalogCache()), () => {});
    const good = await placed();
    const bad = await placed();
    const ended = (id: string, nodeId: string, result: string) => ({ ...newCommandRow({ type: 'task.run', payload: {}, timeoutMs: 1000, ttlMs: 1000 }, nodeId, T0), id, state: 'succeeded', result, finished_at: T0 + 5 });
    // A result the store holds but cannot parse: ending that attempt throws.
    await insertCommands(db, [ended(good.attempt.command_id, good.node.id, '{"exitCode":0}'), ended(bad.attempt.command_id, bad.node.id, '{not json')]);
    expect(await tracker.sweepEndedCommands()).toBe(1);
    expect((await getTaskRow(db, good.task.id))?.state).toBe('succeeded');
    expect((await listAttemptRows(db, bad.task.id)).map((a) => a.state)).toEqual(['placed']);
    expect(warnings).toContain('could not end the task attempt of a finished command; the repair pass tries again');
  });

  it('output reads back in attempt and sequence order after a position; duplicates are ignored', async () => {
    const db = ctx.store.db;
    const chunk = (number: number, seq: number, data: string) => ({ attempt_id: `att_${number}`, seq, task_id: 'task_o', number, stream: 'stdout', data, at: T0 });
    await insertOutput(db, [chunk(2, 0, 'c'), chunk(1, 1, 'b'), chunk(1, 0, 'a'), chunk(2, 1, 'd')]);
    await insertOutput(db, [chunk(1, 0, 'dup')]);
    expect((await outputAfter(db, 'task_o', { number: 0, seq: -1 })).map((c) => c.data).join('')).toBe('abcd');
    expect((await outputAfter(db, 'task_o', { number: 1, seq: 1 })).map((c) => c.data).join('')).toBe('cd');
    expect((await outputAfter(db, 'task_o', { number: 1, seq: 0 }, 2)).map((c) => c.data).join('')).toBe('bc');
  });

  it("reads the output its attempts' commands streamed, in attempt and sequence order after a position; other commands' output is not its", async () => {
    const db = ctx.store.db;
    const { node, task, attempt } = await placed();
    const second = attemptRow(task, node.id, { number: 2 });
    const other = await placed();
    await insertAttempts(db, [second]);
    const cmd = (id: string) => ({ ...newCommandRow({ type: 'task.run', payload: {}, timeoutMs: 1000, ttlMs: 1000 }, node.id, T0), id });
    await insertCommands(db, [cmd(attempt.command_id), cmd(second.command_id), cmd(other.attempt.command_id)]);
    const chunk = (commandId: string, seq: number, data: string) => ({ command_id: commandId, seq, stream: seq % 2 ? 'stderr' : 'stdout', data, at: T0 + seq });
    await insertOutputChunks(db, [chunk(second.command_id, 0, 'c'), chunk(attempt.command_id, 1, 'b'), chunk(attempt.command_id, 0, 'a'), chunk(other.attempt.command_id, 0, 'x'), chunk(second.command_id, 1, 'd')]);
    const all = await commandOutputOfTaskAfter(db, task.id, { number: 0, seq: -1 });
    expect(all.map((c) => `${c.number}.${c.seq}:${c.stream}:${c.data}`)).toEqual(['1.0:stdout:a', '1.1:stderr:b', '2.0:stdout:c', '2.1:stderr:d']);
    expect(all[0]).toMatchObject({ attempt_id: attempt.id, task_id: task.id, at: T0 });
    expect((await commandOutputOfTaskAfter(db, task.id, { number: 1, seq: 1 })).map((c) => c.data).join('')).toBe('cd');
    expect((await commandOutputOfTaskAfter(db, task.id, { number: 1, seq: 0 }, 2)).map((c) => c.data).join('')).toBe('bc');
  });
});
