import { describe, expect, it } from 'vitest';
import type { Alert } from '@steward/protocol';
import { eventLine } from '../src/commands/events.js';

describe('eventLine', () => {
  const at = Date.UTC(2026, 0, 2, 3, 4, 5, 6);

  it('names the node of a command, task or service when its name is known, else shows the id', () => {
    const e = { kind: 'command.state', at, commandId: 'cmd_1', nodeId: 'node_1', type: 'exec.run', state: 'succeeded', jobId: null } as const;
    expect(eventLine(e as never, 'web-1')).toBe('03:04:05.006  command.state  cmd_1 exec.run on web-1: succeeded');
    expect(eventLine(e as never)).toBe('03:04:05.006  command.state  cmd_1 exec.run on node_1: succeeded');
    const t = { kind: 'task.state', at, taskId: 'task_1', nodeId: 'node_1', state: 'running', attempt: 1, progress: null, reason: null };
    expect(eventLine(t as never, 'web-1')).toContain('task_1 running on web-1 (attempt 1)');
  });

  it('shows a command\'s progress as phase and amount, not as raw JSON', () => {
    const progress = { phase: 'uploading', unit: 'bytes', done: 1024 * 1024, total: 4 * 1024 * 1024, at };
    const e = { kind: 'command.progress', at, commandId: 'cmd_1', nodeId: 'node_1', jobId: null, type: 'backup.run', progress };
    expect(eventLine(e as never, 'web-1')).toBe('03:04:05.006  command.progress  cmd_1 backup.run on web-1: uploading 1Mi/4Mi');
    expect(eventLine({ ...e, progress: { ...progress, phase: 'scanning', total: null } } as never)).toContain('on node_1: scanning 1Mi');
  });

  it('shows an alert by its summary, not as raw JSON', () => {
    const alert = { id: 'alert_1', severity: 'critical', summary: 'service api is fatal on web-1: crashed', resolveSummary: 'service api on web-1 is running again', ackedBy: 'ops' } as Partial<Alert>;
    expect(eventLine({ kind: 'alert.fired', at, alert } as never)).toBe('03:04:05.006  alert.fired    alert_1 critical: service api is fatal on web-1: crashed');
    expect(eventLine({ kind: 'alert.resolved', at, alert } as never)).toContain('→ service api on web-1 is running again');
    expect(eventLine({ kind: 'alert.acked', at, alert } as never)).toContain('(by ops)');
  });

  it('shows an agent\'s config answer and a document change as lines', () => {
    const e = { kind: 'node.config', at, nodeId: 'node_1', revision: '0123456789abcdef', state: 'rejected', reason: 'modules[0]: unknown' };
    expect(eventLine(e as never, 'web-1')).toBe('03:04:05.006  node.config    web-1: config 0123456789abcdef rejected (modules[0]: unknown)');
    expect(eventLine({ kind: 'agent-config.changed', at, name: 'base', change: 'updated', version: 3 } as never)).toContain('config document base updated (version 3)');
    expect(eventLine({ kind: 'agent-config.changed', at, name: 'base', change: 'deleted', version: null } as never)).toMatch(/config document base deleted$/);
  });
});
