import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { CommandOutputMessage, DispatchedCommand } from '@steward/protocol';
import { CommandOutput, outputMessages } from '../../src/core/output.js';
import { Journal } from '../../src/journal.js';
import { tempDir } from '../modules/context.js';
import { waitFor } from '../../../../test/support/wait.js';

const log = pino({ level: 'silent' });
const cmd = (id: string): DispatchedCommand => ({ id, type: 'exec.run', payload: {}, timeoutMs: 60_000, createdAt: 1 });

async function harness(maxBytes = 1024 * 1024) {
  const journal = new Journal(await tempDir());
  journal.begin(cmd('cmd_a'), 1);
  const sent: CommandOutputMessage[] = [];
  // What the journal held at the moment each message was sent: chunks are journaled first.
  const journaledAtSend: number[] = [];
  const out = new CommandOutput('cmd_a', journal, (m) => {
    sent.push(m);
    journaledAtSend.push([...journal.pendingOutput()].length);
  }, maxBytes, log);
  const chunks = () => sent.flatMap((m) => m.chunks);
  return { journal, out, sent, chunks, journaledAtSend };
}

describe('command output (agent side)', () => {
  it('coalesces writes of one moment, journals before sending, and keeps a character split between writes whole', async () => {
    const h = await harness();
    const euro = Buffer.from('€', 'utf8');
    h.out.write('stdout', Buffer.from('a'));
    h.out.write('stdout', euro.subarray(0, 1));
    h.out.write('stderr', 'err');
    h.out.write('stdout', Buffer.concat([euro.subarray(1), Buffer.from('b')]));
    await waitFor('a flush', () => h.sent.length > 0);
    expect(h.chunks().map((c) => [c.seq, c.stream, c.data])).toEqual([
      [0, 'stdout', 'a'],
      [1, 'stderr', 'err'],
      [2, 'stdout', '€b'],
    ]);
    expect(h.journaledAtSend[0]).toBe(3);
    h.out.write('stdout', 'later');
    h.out.close();
    // close() flushes at once (before the result is sent), and later writes are dropped.
    expect(h.chunks().map((c) => c.data)).toEqual(['a', 'err', '€b', 'later']);
    h.out.write('stdout', 'after close');
    await new Promise((r) => setImmediate(r));
    expect(h.chunks()).toHaveLength(4);
    h.journal.ackOutput('cmd_a', 2);
    expect([...h.journal.pendingOutput()].map((c) => c.seq)).toEqual([3]);
    h.journal.close();
  });

  it('splits big writes into chunks of at most 16 KiB and messages of at most 64 chunks', async () => {
    const h = await harness(4 * 1024 * 1024);
    h.out.write('stdout', 'é'.repeat(700_000)); // 1.4 MB of two-byte characters
    h.out.close();
    const all = h.chunks();
    expect(all.every((c) => Buffer.byteLength(c.data) <= 16 * 1024)).toBe(true);
    expect(all.map((c) => c.data).join('') === 'é'.repeat(700_000)).toBe(true);
    expect(h.sent.every((m) => m.chunks.length <= 64)).toBe(true);
    expect(all.map((c) => c.seq)).toEqual(all.map((_, i) => i));
    h.journal.close();
  });

  it('past its cap sends what fits, one notice on stderr, and nothing more', async () => {
    const h = await harness(10);
    h.out.write('stdout', '0123456789abc');
    h.out.close();
    expect(h.chunks().map((c) => [c.stream, c.data])).toEqual([
      ['stdout', '0123456789'],
      ['stderr', '\n[steward: output truncated after 10 bytes]\n'],
    ]);
    h.journal.close();
  });

  it('a re-run after a crash continues the numbering; the outbox resends per command, in order, in contiguous messages', async () => {
    const h = await harness();
    h.out.write('stdout', 'one');
    h.out.close();
    h.journal.begin(cmd('cmd_b'), 2);
    const b = new CommandOutput('cmd_b', h.journal, () => {}, 1024, log);
    b.write('stdout', 'b0');
    b.close();
    const again = new CommandOutput('cmd_a', h.journal, () => {}, 1024, log);
    again.write('stdout', 'two');
    again.close();
    const resent: CommandOutputMessage[] = [];
    outputMessages(h.journal.pendingOutput(), (m) => resent.push(m));
    expect(resent.map((m) => [m.commandId, m.chunks.map((c) => `${c.seq}:${c.data}`)])).toEqual([
      ['cmd_a', ['0:one']],
      ['cmd_b', ['0:b0']],
      ['cmd_a', ['1:two']],
    ]);
    // The control plane stored cmd_a's result: its leftover output goes with the ack.
    h.journal.finish({ type: 'command.result', commandId: 'cmd_a', state: 'succeeded', startedAt: 1, finishedAt: 2 });
    h.journal.ack(['cmd_a']);
    expect([...h.journal.pendingOutput()].map((c) => c.commandId)).toEqual(['cmd_b']);
    h.journal.close();
  });
});
