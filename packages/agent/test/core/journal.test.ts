import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SIGNATURE_CLOCK_SKEW_MS, type CommandResultMessage, type DispatchedCommand } from '@steward/protocol';
import { Journal } from '../../src/journal.js';

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('journal pruning', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const open = () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-journal-'));
    dirs.push(dir);
    return new Journal(dir);
  };
  const cmd = (id: string): DispatchedCommand => ({ id, type: 'exec.run', payload: {}, timeoutMs: 1000, createdAt: T0 });
  const finishAndAck = (j: Journal, id: string) => {
    const result: CommandResultMessage = { type: 'command.result', commandId: id, state: 'succeeded', startedAt: T0, finishedAt: T0 };
    j.finish(result);
    j.ack([id]);
  };

  it('keeps a signed command\'s id until its expiry (plus skew), an unsigned one for the fixed week', () => {
    const j = open();
    j.begin(cmd('cmd_signed'), T0, { issuedAt: T0, expiresAt: T0 + HOUR });
    j.begin(cmd('cmd_unsigned'), T0);
    finishAndAck(j, 'cmd_signed');
    finishAndAck(j, 'cmd_unsigned');
    expect(j.get('cmd_signed')).toMatchObject({ issuedAt: T0, expiresAt: T0 + HOUR });

    // Inside the skew allowance the id is still known: a replay then is recognised, not re-run.
    expect(j.prune(T0 + HOUR + SIGNATURE_CLOCK_SKEW_MS - 1)).toBe(0);
    expect(j.prune(T0 + HOUR + SIGNATURE_CLOCK_SKEW_MS + 1)).toBe(1);
    expect(j.get('cmd_signed')).toBeNull();
    expect(j.get('cmd_unsigned')).not.toBeNull();
    expect(j.prune(T0 + 7 * DAY + 1)).toBe(1);
    j.close();
  });

  it('never prunes what the control plane has not acknowledged, however old', () => {
    const j = open();
    j.begin(cmd('cmd_outbox'), T0, { issuedAt: T0, expiresAt: T0 + HOUR });
    j.finish({ type: 'command.result', commandId: 'cmd_outbox', state: 'succeeded', startedAt: T0, finishedAt: T0 });
    expect(j.prune(T0 + 30 * DAY)).toBe(0);
    expect(j.outboxIds()).toEqual(['cmd_outbox']);
    j.close();
  });
});
