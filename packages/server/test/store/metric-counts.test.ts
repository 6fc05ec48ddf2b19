import { describe, expect, it } from 'vitest';
import { ACTIVE_ATTEMPT_STATES, newId } from '@steward/protocol';
import { countFiringAlertsBySeverity, fireAlert, resolveAlert } from '../../src/store/queries/alerts.js';
import { countServiceNodesByState, upsertServiceNode } from '../../src/store/queries/services.js';
import { countTasksInState, insertTaskOnce } from '../../src/store/queries/tasks.js';
import { countAttemptsInStates, insertAttempts } from '../../src/store/queries/task-attempts.js';
import type { TaskAttemptsTable, TasksTable } from '../../src/store/schema.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { T0 } from '../helpers/rows.js';

function task(state: string): TasksTable {
  return {
    id: newId('task'), request_id: null, request_hash: null, kind: 'exec', payload: '{"command":"true"}', requirements: '{}',
    priority: 'normal', priority_rank: 1, strategy: null, timeout_ms: 60_000, max_retries: 0, retry_delay_ms: 1000, retry_on_node_loss: 1,
    state, reason: null, node_id: null, attempts: 0, current_attempt_id: null, progress: null, exit_code: null, error: null, retry_at: null,
    queued_at: T0, created_at: T0, started_at: null, finished_at: null,
  };
}

function attempt(taskId: string, number: number, state: string): TaskAttemptsTable {
  return {
    id: newId('att'), task_id: taskId, number, node_id: 'node_x', command_id: newId('cmd'), state, placed_at: T0, started_at: null,
    finished_at: null, exit_code: null, signal: null, cpu_ms: null, peak_memory_bytes: null, progress: null, output_bytes: 0,
    output_truncated: 0, tail: null, error: null,
  };
}

/** The counts `/metrics` reads on each scrape (tasks, services, alerts features). */
describe.each(storeTargets())('metric counts on $name', (target) => {
  const ctx = useFreshStore(target);

  it('counts queued tasks and only the active attempts, by state', async () => {
    const db = ctx.store.db;
    expect(await countTasksInState(db, 'queued')).toBe(0);
    expect(await countAttemptsInStates(db, ACTIVE_ATTEMPT_STATES)).toEqual([]);
    const t = task('running');
    await insertTaskOnce(db, task('queued'));
    await insertTaskOnce(db, task('queued'));
    await insertTaskOnce(db, t);
    await insertAttempts(db, [attempt(t.id, 1, 'lost'), attempt(t.id, 2, 'failed'), attempt(t.id, 3, 'running'), attempt(t.id, 4, 'placed'), attempt(t.id, 5, 'placed')]);
    expect(await countTasksInState(db, 'queued')).toBe(2);
    const active = await countAttemptsInStates(db, ACTIVE_ATTEMPT_STATES);
    expect(active.sort((a, b) => a.state.localeCompare(b.state))).toEqual([
      { state: 'placed', n: 2 },
      { state: 'running', n: 1 },
    ]);
  });

  it('counts service instances by reported state', async () => {
    const db = ctx.store.db;
    expect(await countServiceNodesByState(db)).toEqual([]);
    const row = (service: string, node_id: string, state: string) =>
      upsertServiceNode(db, { service, node_id, revision: 1, version: '1', state, report: '{}', updated_at: T0 });
    await row('web', 'node_a', 'running');
    await row('web', 'node_b', 'backoff');
    await row('db', 'node_a', 'running');
    // A later report of the same instance replaces it, not adds to it.
    await row('web', 'node_b', 'fatal');
    const counts = (await countServiceNodesByState(db)).sort((a, b) => a.state.localeCompare(b.state));
    expect(counts).toEqual([
      { state: 'fatal', n: 1 },
      { state: 'running', n: 2 },
    ]);
  });

  it('counts only firing alerts, by severity', async () => {
    const db = ctx.store.db;
    expect(await countFiringAlertsBySeverity(db)).toEqual([]);
    const fire = (key: string, severity: string) =>
      fireAlert(db, { id: newId('alert'), key, source: 'monitor', node_id: null, severity, summary: key, details: '{}' }, T0);
    await fire('a', 'critical');
    await fire('a', 'critical'); // a repeat of an open key is the same alert
    await fire('b', 'warning');
    await fire('c', 'warning');
    await resolveAlert(db, 'c', T0 + 1, null);
    const counts = (await countFiringAlertsBySeverity(db)).sort((a, b) => a.severity.localeCompare(b.severity));
    expect(counts).toEqual([
      { severity: 'critical', n: 1 },
      { severity: 'warning', n: 1 },
    ]);
  });
});
