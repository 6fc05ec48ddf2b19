import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMAND_STATES, COMMAND_TRANSITIONS, isTerminalCommandState, newId, type CommandState } from '@steward/protocol';
import {
  cancelUnfinishedForNode,
  commandEndsByIds,
  commandStatesOnNode,
  countUnfinishedForNode,
  deliverableForNode,
  deliverableForNodes,
  expireDue,
  finishCommandBrief,
  finishCommands,
  getCommandRow,
  insertCommandOnce,
  insertCommands,
  listCommandRows,
  markDelivered,
  recordCommandProgress,
  startCommands,
  timeOutDue,
  transitionCommand,
} from '../../src/store/queries/commands.js';
import type { CommandsTable } from '../../src/store/schema.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { commandRow, T0 } from '../helpers/rows.js';

const allowed = (from: CommandState, to: CommandState) => COMMAND_TRANSITIONS[from].includes(to);
const ids = (rows: { id: string }[]) => rows.map((r) => r.id).sort();
const errorCode = (row: CommandsTable | undefined) => (row?.error ? (JSON.parse(row.error) as { code: string }).code : null);

describe.each(storeTargets())('commands on $name', (target) => {
  const ctx = useFreshStore(target);
  const node = 'node_a';

  describe('insertCommandOnce', () => {
    it('returns the first row for a repeated request id', async () => {
      const { db } = ctx.store;
      const first = commandRow({ node_id: node, request_id: 'req-1', payload: '{"n":1}' });
      const a = await insertCommandOnce(db, first);
      expect(a.created).toBe(true);
      expect(a.row).toEqual(first);
      const b = await insertCommandOnce(db, commandRow({ node_id: 'node_b', request_id: 'req-1', payload: '{"n":2}' }));
      expect(b.created).toBe(false);
      expect(b.row).toEqual(first);
      expect(await listCommandRows(db, {})).toHaveLength(1);
    });

    it('creates exactly one row when the same request id arrives 5 times at once', async () => {
      const { db } = ctx.store;
      const attempts = Array.from({ length: 5 }, (_, i) => commandRow({ node_id: node, request_id: 'req-race', payload: `{"i":${i}}` }));
      const results = await Promise.all(attempts.map((r) => insertCommandOnce(db, r)));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const winner = results.find((r) => r.created)!.row;
      for (const r of results) expect(r.row).toEqual(winner);
      expect(await listCommandRows(db, {})).toHaveLength(1);
    });

    it('always inserts commands without a request id', async () => {
      const { db } = ctx.store;
      const a = await insertCommandOnce(db, commandRow({ node_id: node }));
      const b = await insertCommandOnce(db, commandRow({ node_id: node }));
      expect([a.created, b.created]).toEqual([true, true]);
      expect(await listCommandRows(db, { nodeId: node })).toHaveLength(2);
    });
  });

  describe('transitionCommand', () => {
    it('follows the transition table for every pair of states', async () => {
      const { db } = ctx.store;
      const pairs = COMMAND_STATES.flatMap((from) => COMMAND_STATES.map((to) => ({ from, to })));
      const rows = pairs.map(({ from }) => commandRow({ node_id: node, state: from }));
      await insertCommands(db, rows);
      for (const [i, { from, to }] of pairs.entries()) {
        const before = rows[i]!;
        const moved = await transitionCommand(db, before.id, to, { finished_at: T0 + 99, result: '"r"' });
        const after = await getCommandRow(db, before.id);
        if (allowed(from, to)) {
          expect(moved, `${from} → ${to}`).toEqual({ ...before, state: to, finished_at: T0 + 99, result: '"r"' });
          expect(after, `${from} → ${to}`).toEqual(moved);
        } else {
          expect(moved, `${from} → ${to}`).toBeUndefined();
          expect(after, `${from} → ${to} must leave the row alone`).toEqual(before);
        }
      }
    });

    it('keeps every command on a path of the table (random sequences)', async () => {
      const { db } = ctx.store;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.constantFrom(...COMMAND_STATES), { maxLength: 10 }), async (steps) => {
          const row = commandRow({ node_id: node });
          await insertCommands(db, [row]);
          let model: CommandState = 'pending';
          for (const to of steps) {
            const moved = await transitionCommand(db, row.id, to);
            const stored = (await getCommandRow(db, row.id))!;
            if (allowed(model, to)) {
              expect(moved?.state).toBe(to);
              model = to;
            } else {
              expect(moved).toBeUndefined();
              if (isTerminalCommandState(model)) expect(stored.state).toBe(model);
            }
            expect(stored.state).toBe(model);
          }
        }),
        { numRuns: 60 },
      );
    });

    it('an unreachable target state is a no-op, not an error', async () => {
      const { db } = ctx.store;
      const row = commandRow({ node_id: node, state: 'dispatched' });
      await insertCommands(db, [row]);
      // Nothing may move back to pending: there are no predecessors at all.
      expect(await transitionCommand(db, row.id, 'pending')).toBeUndefined();
      expect(await getCommandRow(db, row.id)).toEqual(row);
    });

    it('onlyNodeId stops a node from moving another node’s command', async () => {
      const { db } = ctx.store;
      const row = commandRow({ node_id: 'node_owner', state: 'dispatched' });
      await insertCommands(db, [row]);
      expect(await transitionCommand(db, row.id, 'running', { started_at: T0 }, 'node_other')).toBeUndefined();
      expect(await getCommandRow(db, row.id)).toEqual(row);
      expect((await transitionCommand(db, row.id, 'running', { started_at: T0 }, 'node_owner'))?.state).toBe('running');
    });

    it('concurrent results for one command: exactly one wins', async () => {
      const { db } = ctx.store;
      const row = commandRow({ node_id: node, state: 'running' });
      await insertCommands(db, [row]);
      const ends: CommandState[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'succeeded'];
      const results = await Promise.all(ends.map((to) => transitionCommand(db, row.id, to, { finished_at: T0 })));
      const winners = results.filter((r) => r !== undefined);
      expect(winners).toHaveLength(1);
      expect((await getCommandRow(db, row.id))?.state).toBe(winners[0]!.state);
    });
  });

  it('markDelivered: pending → dispatched, running stays, held and finished are skipped', async () => {
    const { db } = ctx.store;
    const now = T0 + 500;
    const pending = commandRow({ node_id: node });
    const dispatched = commandRow({ node_id: node, state: 'dispatched', dispatched_at: T0 + 1, deliveries: 1 });
    const running = commandRow({ node_id: node, state: 'running', dispatched_at: T0 + 2, started_at: T0 + 3, deliveries: 2 });
    const held = commandRow({ node_id: node, held: 1 });
    const done = commandRow({ node_id: node, state: 'succeeded', deliveries: 1, dispatched_at: T0 + 4 });
    const notAsked = commandRow({ node_id: node });
    await insertCommands(db, [pending, dispatched, running, held, done, notAsked]);

    const out = await markDelivered(db, [pending.id, dispatched.id, running.id, held.id, done.id], now);
    expect(ids(out)).toEqual(ids([pending, dispatched, running]));
    expect(await getCommandRow(db, pending.id)).toEqual({ ...pending, state: 'dispatched', dispatched_at: now, deliveries: 1 });
    expect(await getCommandRow(db, dispatched.id)).toEqual({ ...dispatched, deliveries: 2 });
    expect(await getCommandRow(db, running.id)).toEqual({ ...running, deliveries: 3 });
    expect(await getCommandRow(db, held.id)).toEqual(held);
    expect(await getCommandRow(db, done.id)).toEqual(done);
    expect(await getCommandRow(db, notAsked.id)).toEqual(notAsked);
    expect(await markDelivered(db, [], now)).toEqual([]);
  });

  it('markDelivered handles more ids than one statement takes', async () => {
    const { db } = ctx.store;
    const rows = Array.from({ length: 1_100 }, (_, i) => commandRow({ node_id: node, created_at: T0 + i }));
    await insertCommands(db, rows);
    const out = await markDelivered(db, rows.map((r) => r.id), T0 + 5_000);
    expect(out).toHaveLength(1_100);
    expect(new Set(out.map((r) => r.state))).toEqual(new Set(['dispatched']));
  });

  it('deliverableForNode and countUnfinishedForNode see unfinished commands of that node only', async () => {
    const { db } = ctx.store;
    const rows = [
      commandRow({ node_id: node, created_at: T0 + 3 }),
      commandRow({ node_id: node, state: 'running', created_at: T0 + 1 }),
      commandRow({ node_id: node, state: 'dispatched', created_at: T0 + 2 }),
      commandRow({ node_id: node, held: 1 }),
      commandRow({ node_id: node, state: 'failed' }),
      commandRow({ node_id: 'node_b' }),
    ];
    await insertCommands(db, rows);
    expect((await deliverableForNode(db, node)).map((r) => r.id)).toEqual([rows[1]!.id, rows[2]!.id, rows[0]!.id]);
    expect(await countUnfinishedForNode(db, node)).toBe(4); // held still counts as unfinished
    expect(await countUnfinishedForNode(db, 'node_none')).toBe(0);
    // Several nodes at once (the heartbeats of one moment): each node's in the same order, no other node's.
    await insertCommands(db, [commandRow({ node_id: 'node_c', state: 'running' })]);
    const both = await deliverableForNodes(db, [node, 'node_b', 'node_none']);
    expect(both.filter((r) => r.node_id === node).map((r) => r.id)).toEqual([rows[1]!.id, rows[2]!.id, rows[0]!.id]);
    expect(both.filter((r) => r.node_id === 'node_b').map((r) => r.id)).toEqual([rows[5]!.id]);
    expect(both).toHaveLength(4);
    expect(await deliverableForNodes(db, [])).toEqual([]);
  });

  it('expireDue expires only pending/dispatched, not held, past expires_at', async () => {
    const { db } = ctx.store;
    const now = T0 + 10_000;
    const due = {
      pending: commandRow({ node_id: node, expires_at: now - 1 }),
      dispatched: commandRow({ node_id: node, state: 'dispatched', expires_at: now - 1 }),
      atTheInstant: commandRow({ node_id: node, expires_at: now }),
    };
    const notDue = {
      future: commandRow({ node_id: node, expires_at: now + 1 }),
      held: commandRow({ node_id: node, held: 1, expires_at: now - 1 }),
      heldNoExpiry: commandRow({ node_id: node, held: 1, expires_at: null }),
      running: commandRow({ node_id: node, state: 'running', expires_at: now - 1 }),
      succeeded: commandRow({ node_id: node, state: 'succeeded', expires_at: now - 1 }),
      cancelled: commandRow({ node_id: node, state: 'cancelled', expires_at: now - 1 }),
    };
    await insertCommands(db, [...Object.values(due), ...Object.values(notDue)]);
    const out = await expireDue(db, now);
    expect(ids(out)).toEqual(ids(Object.values(due)));
    for (const r of Object.values(due)) {
      const stored = await getCommandRow(db, r.id);
      expect(stored).toMatchObject({ state: 'expired', finished_at: now });
      expect(errorCode(stored)).toBe('expired');
    }
    for (const r of Object.values(notDue)) expect(await getCommandRow(db, r.id)).toEqual(r);
    expect(await expireDue(db, now)).toEqual([]);
  });

  it('timeOutDue only times out running commands past started_at + timeout + grace', async () => {
    const { db } = ctx.store;
    const now = T0 + 1_000_000;
    const timeout = 60_000;
    const grace = 5_000;
    const due = {
      late: commandRow({ node_id: node, state: 'running', timeout_ms: timeout, started_at: now - timeout - grace - 1 }),
      atTheInstant: commandRow({ node_id: node, state: 'running', timeout_ms: timeout, started_at: now - timeout - grace }),
    };
    const notDue = {
      inGrace: commandRow({ node_id: node, state: 'running', timeout_ms: timeout, started_at: now - timeout - grace + 1 }),
      longTimeout: commandRow({ node_id: node, state: 'running', timeout_ms: 10 * timeout, started_at: now - timeout - grace - 1 }),
      notStarted: commandRow({ node_id: node, state: 'running', timeout_ms: timeout, started_at: null }),
      dispatched: commandRow({ node_id: node, state: 'dispatched', timeout_ms: timeout, started_at: now - 10 * timeout }),
      succeeded: commandRow({ node_id: node, state: 'succeeded', timeout_ms: timeout, started_at: now - 10 * timeout }),
    };
    await insertCommands(db, [...Object.values(due), ...Object.values(notDue)]);
    const out = await timeOutDue(db, now, grace);
    expect(ids(out)).toEqual(ids(Object.values(due)));
    for (const r of Object.values(due)) {
      const stored = await getCommandRow(db, r.id);
      expect(stored).toMatchObject({ state: 'timed_out', finished_at: now });
      expect(errorCode(stored)).toBe('timed_out');
    }
    for (const r of Object.values(notDue)) expect(await getCommandRow(db, r.id)).toEqual(r);
  });

  it('cancelUnfinishedForNode cancels that node’s unfinished commands only', async () => {
    const { db } = ctx.store;
    const now = T0 + 7;
    const unfinished = ['pending', 'dispatched', 'running'].map((state) => commandRow({ node_id: node, state }));
    const heldRow = commandRow({ node_id: node, held: 1 });
    const finished = commandRow({ node_id: node, state: 'succeeded', finished_at: T0 });
    const other = commandRow({ node_id: 'node_b' });
    await insertCommands(db, [...unfinished, heldRow, finished, other]);
    const out = await cancelUnfinishedForNode(db, node, now, 'node_deleted', 'the node was deleted');
    expect(ids(out)).toEqual(ids([...unfinished, heldRow]));
    for (const r of out) {
      expect(r).toMatchObject({ state: 'cancelled', finished_at: now, held: 0 });
      expect(JSON.parse(r.error!)).toEqual({ code: 'node_deleted', message: 'the node was deleted' });
    }
    expect(await getCommandRow(db, finished.id)).toEqual(finished);
    expect(await getCommandRow(db, other.id)).toEqual(other);
    expect(await countUnfinishedForNode(db, node)).toBe(0);
  });

  it('listCommandRows filters and orders newest first', async () => {
    const { db } = ctx.store;
    const jobId = newId('job');
    const rows = [
      commandRow({ node_id: node, created_at: T0 + 1 }),
      commandRow({ node_id: node, created_at: T0 + 2, state: 'failed', type: 'fs.mkdir' }),
      commandRow({ node_id: 'node_b', created_at: T0 + 3, job_id: jobId }),
    ];
    await insertCommands(db, rows);
    expect((await listCommandRows(db, {})).map((r) => r.id)).toEqual([rows[2]!.id, rows[1]!.id, rows[0]!.id]);
    expect((await listCommandRows(db, { nodeId: node })).map((r) => r.id)).toEqual([rows[1]!.id, rows[0]!.id]);
    expect((await listCommandRows(db, { state: 'failed' })).map((r) => r.id)).toEqual([rows[1]!.id]);
    expect((await listCommandRows(db, { type: 'fs.mkdir' })).map((r) => r.id)).toEqual([rows[1]!.id]);
    expect((await listCommandRows(db, { jobId })).map((r) => r.id)).toEqual([rows[2]!.id]);
    expect(await listCommandRows(db, { limit: 2 })).toHaveLength(2);
  });

  describe('startCommands / finishCommands (bulk, one statement per chunk)', () => {
    it('starts and ends every node\'s own commands by the transition table; one answer per report, in order', async () => {
      const { db } = ctx.store;
      const from = COMMAND_STATES.map((state) => commandRow({ node_id: node, state, started_at: state === 'running' ? T0 + 1 : null }));
      const foreign = commandRow({ node_id: 'node_b', state: 'dispatched' });
      await insertCommands(db, [...from, foreign]);
      const starts = [...from, foreign].map((r) => ({ id: r.id, nodeId: node, at: T0 + 5 }));
      const started = await startCommands(db, [...starts, { id: 'cmd_unknown', nodeId: node, at: T0 + 5 }]);
      expect(started).toHaveLength(starts.length + 1);
      for (const [i, r] of from.entries()) {
        const moved = allowed(r.state as CommandState, 'running');
        expect(started[i], `${r.state} → running`).toEqual(moved ? { id: r.id, node_id: node, job_id: null, type: r.type, state: 'running', deliveries: 0 } : undefined);
        expect(await getCommandRow(db, r.id), `${r.state} → running`).toEqual(moved ? { ...r, state: 'running', started_at: T0 + 5 } : r);
      }
      // Another node's command and an unknown id move nothing.
      expect(started.slice(-2)).toEqual([undefined, undefined]);
      expect(await getCommandRow(db, foreign.id)).toEqual(foreign);

      // Ends: each from the state the row is in now, to a terminal state an agent may report.
      const now = await Promise.all(from.map((r) => getCommandRow(db, r.id)));
      const ends = now.map((r, i) => ({ id: r!.id, nodeId: node, state: (['succeeded', 'failed', 'timed_out', 'cancelled'] as const)[i % 4]!, result: `{"i":${i}}`, error: i % 2 ? '{"code":"x","message":"y"}' : null, at: T0 + 9 }));
      const ended = await finishCommands(db, [...ends, { id: foreign.id, nodeId: node, state: 'succeeded', result: null, error: null, at: T0 + 9 }]);
      for (const [i, r] of now.entries()) {
        const e = ends[i]!;
        const moved = allowed(r!.state as CommandState, e.state);
        expect(ended[i], `${r!.state} → ${e.state}`).toEqual(moved ? { id: r!.id, node_id: node, job_id: null, type: r!.type, state: e.state, deliveries: 0 } : undefined);
        expect(await getCommandRow(db, r!.id), `${r!.state} → ${e.state}`).toEqual(
          moved ? { ...r, state: e.state, result: e.result, error: e.error, started_at: r!.started_at ?? T0 + 9, finished_at: T0 + 9, secret_payload: null } : r,
        );
      }
      expect(ended[ends.length]).toBeUndefined();
      expect(await getCommandRow(db, foreign.id)).toEqual(foreign);
    });

    it('a repeat in the same batch gets nothing, the first report wins, and a command with a secret payload is left to the scrubbing path', async () => {
      const { db } = ctx.store;
      const plain = commandRow({ node_id: node, state: 'running', started_at: T0 + 1 });
      const secret = commandRow({ node_id: node, state: 'running', started_at: T0 + 1, secret_payload: '{"password":"x"}' });
      await insertCommands(db, [plain, secret]);
      const end = (id: string, state: 'succeeded' | 'failed', result: string) => ({ id, nodeId: node, state, result, error: null, at: T0 + 9 });
      const answers = await finishCommands(db, [end(plain.id, 'succeeded', '"first"'), end(secret.id, 'succeeded', '"s"'), end(plain.id, 'failed', '"second"'), end(plain.id, 'succeeded', '"third"')]);
      expect(answers.map((a) => a?.state)).toEqual(['succeeded', undefined, undefined, undefined]);
      expect(await getCommandRow(db, plain.id)).toMatchObject({ state: 'succeeded', result: '"first"' });
      expect(await getCommandRow(db, secret.id)).toEqual(secret);
      const again = await startCommands(db, [{ id: plain.id, nodeId: node, at: T0 + 10 }, { id: plain.id, nodeId: node, at: T0 + 11 }]);
      expect(again).toEqual([undefined, undefined]);
    });

    it('takes more reports than one statement holds (chunks), on both stores', async () => {
      const { db } = ctx.store;
      const rows = Array.from({ length: 1_234 }, () => commandRow({ node_id: node, state: 'dispatched' }));
      await insertCommands(db, rows);
      const started = await startCommands(db, rows.map((r, i) => ({ id: r.id, nodeId: node, at: T0 + i })));
      expect(started.every((b, i) => b?.id === rows[i]!.id && b.state === 'running')).toBe(true);
      const ended = await finishCommands(db, rows.map((r, i) => ({ id: r.id, nodeId: node, state: 'succeeded' as const, result: `{"n":${i}}`, error: null, at: T0 + 10_000 + i })));
      expect(ended.every((b, i) => b?.id === rows[i]!.id && b.state === 'succeeded')).toBe(true);
      const last = await getCommandRow(db, rows[1_233]!.id);
      expect(last).toMatchObject({ state: 'succeeded', started_at: T0 + 1_233, finished_at: T0 + 10_000 + 1_233, result: '{"n":1233}' });
    });
  });

  describe('finishCommandBrief', () => {
    it('ends the node\'s own command once, keeps a reported start and drops the secret payload', async () => {
      const { db } = ctx.store;
      const running = commandRow({ node_id: node, state: 'running', started_at: T0 + 5, secret_payload: '{"password":"x"}' });
      await insertCommands(db, [running]);
      const end = { result: '{"exitCode":0}', error: null };
      expect(await finishCommandBrief(db, running.id, 'succeeded', end, 'node_b', T0 + 9)).toBeUndefined();
      const brief = await finishCommandBrief(db, running.id, 'succeeded', end, node, T0 + 10);
      expect(brief).toEqual({ id: running.id, node_id: node, job_id: null, type: running.type, state: 'succeeded', deliveries: 0 });
      expect(await getCommandRow(db, running.id)).toEqual({ ...running, state: 'succeeded', started_at: T0 + 5, finished_at: T0 + 10, result: end.result, secret_payload: null });
      // A repeat of the result changes nothing.
      expect(await finishCommandBrief(db, running.id, 'failed', { result: null, error: '{}' }, node, T0 + 11)).toBeUndefined();
    });

    it('onlyWithoutSecret ends a command without a secret payload and leaves one with a secret as it was', async () => {
      const { db } = ctx.store;
      const plain = commandRow({ node_id: node, state: 'dispatched' });
      const secret = commandRow({ node_id: node, state: 'dispatched', secret_payload: '{"password":"x"}' });
      await insertCommands(db, [plain, secret]);
      const end = { result: '{"ok":true}', error: null };
      expect(await finishCommandBrief(db, plain.id, 'succeeded', end, node, T0 + 10, true)).toMatchObject({ id: plain.id, state: 'succeeded' });
      expect(await finishCommandBrief(db, secret.id, 'succeeded', end, node, T0 + 10, true)).toBeUndefined();
      expect(await getCommandRow(db, secret.id)).toEqual(secret);
      // A repeat changes nothing either way.
      expect(await finishCommandBrief(db, plain.id, 'failed', end, node, T0 + 11, true)).toBeUndefined();
      expect(await finishCommandBrief(db, secret.id, 'succeeded', end, node, T0 + 12)).toMatchObject({ id: secret.id, state: 'succeeded' });
      expect((await getCommandRow(db, secret.id))!.secret_payload).toBeNull();
    });

    it('takes the finish time as the start when the start report was lost', async () => {
      const { db } = ctx.store;
      const dispatched = commandRow({ node_id: node, state: 'dispatched', dispatched_at: T0 + 1 });
      await insertCommands(db, [dispatched]);
      await finishCommandBrief(db, dispatched.id, 'failed', { result: null, error: '{"code":"exit"}' }, node, T0 + 20);
      expect(await getCommandRow(db, dispatched.id)).toMatchObject({ state: 'failed', started_at: T0 + 20, finished_at: T0 + 20, error: '{"code":"exit"}' });
    });
  });

  it('recordCommandProgress keeps the latest report on the node\'s own unfinished command only', async () => {
    const { db } = ctx.store;
    const running = commandRow({ node_id: node, state: 'running' });
    const done = commandRow({ node_id: node, state: 'succeeded' });
    await insertCommands(db, [running, done]);
    const first = '{"phase":"scanning","done":1}';
    const second = '{"phase":"archiving","done":2}';
    expect(await recordCommandProgress(db, running.id, node, first)).toEqual({ id: running.id, node_id: node, job_id: null, type: running.type, state: 'running', deliveries: 0 });
    expect(await recordCommandProgress(db, running.id, node, second)).toMatchObject({ id: running.id });
    expect((await getCommandRow(db, running.id))?.progress).toBe(second);
    // Another node's report, and a late one for an ended command, change nothing.
    expect(await recordCommandProgress(db, running.id, 'node_b', first)).toBeUndefined();
    expect(await recordCommandProgress(db, done.id, node, first)).toBeUndefined();
    expect((await getCommandRow(db, running.id))?.progress).toBe(second);
    expect((await getCommandRow(db, done.id))?.progress).toBeNull();
  });

  it('commandEndsByIds returns state, result and error of the asked commands only', async () => {
    const { db } = ctx.store;
    const done = commandRow({ node_id: node, state: 'succeeded', result: '{"ok":true}' });
    const failed = commandRow({ node_id: node, state: 'failed', error: '{"code":"x"}' });
    const other = commandRow({ node_id: node });
    await insertCommands(db, [done, failed, other]);
    const ends = await commandEndsByIds(db, [done.id, failed.id, 'cmd_unknown']);
    expect(ends.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [
        { id: done.id, state: 'succeeded', result: '{"ok":true}', error: null },
        { id: failed.id, state: 'failed', result: null, error: '{"code":"x"}' },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(await commandEndsByIds(db, [])).toEqual([]);
  });

  it('commandStatesOnNode answers for the node\'s own commands only', async () => {
    const { db } = ctx.store;
    const mine = commandRow({ node_id: node, state: 'succeeded' });
    const theirs = commandRow({ node_id: 'node_b', state: 'succeeded' });
    await insertCommands(db, [mine, theirs]);
    expect(await commandStatesOnNode(db, node, [mine.id, theirs.id, 'cmd_unknown'])).toEqual([{ id: mine.id, state: 'succeeded' }]);
    expect(await commandStatesOnNode(db, node, [])).toEqual([]);
  });
});
