import { describe, expect, it } from 'vitest';
import { COMMAND_TRANSITIONS, isTerminalCommandState, REDACTED } from '@steward/protocol';
import { newCommandRow } from '../../src/commands/service.js';
import { cancelUnfinishedForNode, expireDue, getCommandRow, insertCommands, timeOutDue, transitionCommand } from '../../src/store/queries/commands.js';
import { cancelHeld } from '../../src/store/queries/jobs.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { T0 } from '../helpers/rows.js';

const spec = { type: 'ftp.user.apply', payload: { username: 'u', password: 'hunter2' }, timeoutMs: 1000, ttlMs: 1000 };
const secretRow = (over: { held?: boolean; jobId?: string } = {}) =>
  newCommandRow(spec, 'node_a', T0, { ...over, shown: { username: 'u', password: REDACTED } });

describe.each(storeTargets())('secret payload parts on $name', (target) => {
  const ctx = useFreshStore(target);

  it('a row shows the redacted payload and keeps the full one aside; a plain row keeps none', () => {
    const row = secretRow();
    expect(JSON.parse(row.payload)).toEqual({ username: 'u', password: REDACTED });
    expect(JSON.parse(row.secret_payload!)).toEqual(spec.payload);
    expect(newCommandRow(spec, 'node_a', T0).secret_payload).toBeNull();
  });

  it('every transition into a terminal state drops the secret; others keep it', async () => {
    const { db } = ctx.store;
    // Every state after pending is reachable straight from it (a result may overtake `started`).
    for (const to of COMMAND_TRANSITIONS.pending) {
      const row = secretRow();
      await insertCommands(db, [row]);
      expect(await transitionCommand(db, row.id, to, { finished_at: T0 }), to).toBeDefined();
      expect((await getCommandRow(db, row.id))!.secret_payload === null, to).toBe(isTerminalCommandState(to));
    }
  });

  it('expiry, the timeout backstop, node cancel and job cancel drop the secret', async () => {
    const { db } = ctx.store;
    const expiring = secretRow();
    const running = secretRow();
    const nodeCancelled = { ...secretRow(), node_id: 'node_b' };
    const held = secretRow({ held: true, jobId: 'job_x' });
    await insertCommands(db, [expiring, running, nodeCancelled, held]);
    await transitionCommand(db, running.id, 'dispatched', {});
    await transitionCommand(db, running.id, 'running', { started_at: T0 });
    await expireDue(db, T0 + 5000);
    await timeOutDue(db, T0 + 60_000, 0);
    await cancelUnfinishedForNode(db, 'node_b', T0, 'node_deleted', 'gone');
    await cancelHeld(db, 'job_x', T0);
    for (const r of [expiring, running, nodeCancelled, held]) {
      const row = (await getCommandRow(db, r.id))!;
      expect(isTerminalCommandState(row.state as never), row.state).toBe(true);
      expect(row.secret_payload).toBeNull();
      expect(row.payload).not.toContain('hunter2');
    }
  });
});
