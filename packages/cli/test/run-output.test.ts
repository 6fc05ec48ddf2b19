import type { Command } from '@steward/protocol';
import { describe, expect, it } from 'vitest';
import { colourWanted, nodeColour } from '../src/run/colour.js';
import { LineBuffer } from '../src/run/line-buffer.js';
import { LiveSummary } from '../src/run/live-summary.js';
import { makePrinter, type RunFormat } from '../src/run/printers.js';
import { recorder } from './helpers/terminal.js';

const NAMES: Record<string, string> = { n1: 'web-1', n2: 'database-main' };
const ESC = '\u001b';

function command(id: string, nodeId: string, state: Command['state'], result: Record<string, unknown> | null = { exitCode: state === 'succeeded' ? 0 : 3, stdout: '', stderr: '' }): Command {
  return {
    id, requestId: null, nodeId, jobId: 'job_1', type: 'exec.run', payload: {}, state, timeoutMs: 1000, ttlMs: 1000, expiresAt: null,
    createdAt: 1, dispatchedAt: 2, startedAt: 3, finishedAt: 4, deliveries: 1, result: { durationMs: 1200, ...result }, error: null, progress: null,
  };
}

function printer(format: RunFormat, tty = false, total = 2) {
  const r = recorder(tty);
  const p = makePrinter({ format, term: r.term, nameOf: (id) => NAMES[id] ?? id, names: Object.values(NAMES).slice(0, total), total });
  return { ...r, p };
}

describe('LineBuffer', () => {
  it('holds a partial line until its newline, per key', () => {
    const b = new LineBuffer();
    expect(b.push('a', 'one\ntw')).toEqual(['one']);
    expect(b.push('b', 'x')).toEqual([]);
    expect(b.push('a', 'o\nthree\n')).toEqual(['two', 'three']);
    expect(b.keys()).toEqual(['b']);
    expect(b.rest('b')).toBe('x');
    expect(b.rest('b')).toBeUndefined();
    expect(b.push('a', '\n\n')).toEqual(['', '']);
  });
});

describe('colour', () => {
  it('gives a node the same colour every time and colours only a terminal without NO_COLOR', () => {
    expect(nodeColour('web-1')).toBe(nodeColour('web-1'));
    expect(new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map(nodeColour)).size).toBeGreaterThan(1);
    expect(colourWanted({ isTTY: true }, {})).toBe(true);
    expect(colourWanted({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colourWanted({ isTTY: false }, {})).toBe(false);
    expect(colourWanted({}, {})).toBe(false);
  });
});

describe('LiveSummary', () => {
  it('counts done and failed, draws only when on, clears only what it drew', () => {
    const out: string[] = [];
    const s = new LiveSummary(3, (t) => void out.push(t), true);
    s.clear();
    expect(out).toEqual([]);
    s.ended(true);
    s.ended(false);
    s.draw();
    expect(out).toEqual([`\r${ESC}[K2/3 done, 1 failed`]);
    s.clear();
    s.clear();
    expect(out).toHaveLength(2);
    const off: string[] = [];
    const quiet = new LiveSummary(3, (t) => void off.push(t), false);
    quiet.draw();
    quiet.clear();
    expect(off).toEqual([]);
  });
});

describe('prefixed lines (several nodes)', () => {
  it('prints whole lines as they complete, prefixed and aligned, stderr marked, end lines, no escapes when piped', () => {
    const { p, all, writes } = printer('lines');
    p.output({ commandId: 'c1', nodeId: 'n1', stream: 'stdout', data: 'hel' });
    expect(writes).toEqual([]);
    p.output({ commandId: 'c1', nodeId: 'n1', stream: 'stdout', data: 'lo\nwor' });
    p.output({ commandId: 'c2', nodeId: 'n2', stream: 'stderr', data: 'oops\n' });
    p.output({ commandId: 'c2', nodeId: 'n2', stream: 'stdout', data: 'a\nb\n' });
    p.end(command('c1', 'n1', 'succeeded'));
    p.end(command('c2', 'n2', 'failed'));
    p.finish();
    expect(all('stdout')).toBe(
      ['web-1         | hello', 'database-main | a', 'database-main | b', 'web-1         | wor', '[web-1] succeeded exit=0 1.20s', '[database-main] failed exit=3 1.20s', ''].join('\n'),
    );
    expect(all('stderr')).toBe('database-main ! oops\n');
    expect(writes.map((w) => w.text).join('')).not.toContain(ESC);
  });

  it('colours names on a terminal and keeps a live summary on stderr, cleared before lines and at the end', () => {
    const { p, writes } = printer('lines', true);
    p.output({ commandId: 'c1', nodeId: 'n1', stream: 'stdout', data: 'x\n' });
    p.end(command('c1', 'n1', 'failed'));
    p.output({ commandId: 'c2', nodeId: 'n2', stream: 'stdout', data: 'y\n' });
    p.finish();
    const colour = nodeColour('web-1');
    expect(writes[0]).toEqual({ to: 'stdout', text: `${ESC}[${colour}mweb-1        ${ESC}[0m | x\n` });
    expect(writes[1]).toEqual({ to: 'stderr', text: `\r${ESC}[K0/2 done` });
    // Cleared, the end line, drawn again with the new count.
    expect(writes.slice(2, 5)).toEqual([
      { to: 'stderr', text: `\r${ESC}[K` },
      { to: 'stdout', text: `${ESC}[${colour}m[web-1]${ESC}[0m failed exit=3 1.20s\n` },
      { to: 'stderr', text: `\r${ESC}[K1/2 done, 1 failed` },
    ]);
    expect(writes.at(-1)).toEqual({ to: 'stderr', text: `\r${ESC}[K` });
  });

  it('clearStatus erases the summary line for a message; the next output draws it again', () => {
    const { p, writes } = printer('lines', true);
    p.output({ commandId: 'c1', nodeId: 'n1', stream: 'stdout', data: 'x\n' });
    const drawn = writes.length;
    p.clearStatus();
    p.clearStatus();
    expect(writes.slice(drawn)).toEqual([{ to: 'stderr', text: `\r${ESC}[K` }]);
    p.output({ commandId: 'c1', nodeId: 'n1', stream: 'stdout', data: 'y\n' });
    expect(writes.at(-1)).toEqual({ to: 'stderr', text: `\r${ESC}[K0/2 done` });
  });

  it('a command without output still shows its end; output only in the result (no streaming) is printed from there', () => {
    const { p, all } = printer('lines');
    p.end(command('c1', 'n1', 'succeeded'));
    p.end(command('c2', 'n2', 'failed', { exitCode: 3, stdout: 'from result\n', stderr: 'err tail' }));
    expect(all('stdout')).toBe('[web-1] succeeded exit=0 1.20s\ndatabase-main | from result\n[database-main] failed exit=3 1.20s\n');
    expect(all('stderr')).toBe('database-main ! err tail\n');
  });

  it('does not print the result tail again when the output came streamed, nor call it truncated', () => {
    const { p, all } = printer('lines');
    p.output({ commandId: 'c1', nodeId: 'n1', stream: 'stdout', data: 'streamed\n' });
    p.end(command('c1', 'n1', 'succeeded', { exitCode: 0, stdout: 'med\n', stderr: '', truncated: true }));
    p.end(command('c2', 'n2', 'succeeded', { exitCode: 0, stdout: 'tail\n', stderr: '', truncated: true }));
    expect(all('stdout')).toBe(
      'web-1         | streamed\n[web-1] succeeded exit=0 1.20s\ndatabase-main | tail\n[database-main] succeeded exit=0 (output truncated) 1.20s\n',
    );
  });
});

describe('one node', () => {
  it('passes output through as it comes, unprefixed, and starts the end line on a line of its own', () => {
    const { p, writes, all } = printer('lines', false, 1);
    p.output({ commandId: 'c1', nodeId: 'n1', stream: 'stdout', data: 'Continue? ' });
    expect(writes).toEqual([{ to: 'stdout', text: 'Continue? ' }]);
    p.output({ commandId: 'c1', nodeId: 'n1', stream: 'stderr', data: 'warn\n' });
    p.end(command('c1', 'n1', 'succeeded'));
    expect(all('stdout')).toBe('Continue? \n[web-1] succeeded exit=0 1.20s\n');
    expect(all('stderr')).toBe('warn\n');
  });
});

describe('--group', () => {
  it('prints each node as one block when it ends, and what a node that never ended printed at the end', () => {
    const { p, all } = printer('group');
    p.output({ commandId: 'c1', nodeId: 'n1', stream: 'stdout', data: 'a1\n' });
    p.output({ commandId: 'c2', nodeId: 'n2', stream: 'stdout', data: 'b1\n' });
    p.output({ commandId: 'c1', nodeId: 'n1', stream: 'stdout', data: 'a2' });
    p.output({ commandId: 'c2', nodeId: 'n2', stream: 'stderr', data: 'b-err\n' });
    expect(all('stdout')).toBe('');
    p.end(command('c1', 'n1', 'succeeded'));
    p.output({ commandId: 'c2', nodeId: 'n2', stream: 'stdout', data: 'b2\n' });
    p.finish();
    const rule = '-'.repeat(16);
    expect(all('stdout')).toBe([rule, '[web-1] succeeded exit=0 1.20s', rule, 'a1', 'a2', rule, '[database-main] has not ended', rule, 'b1', 'b2', ''].join('\n'));
    expect(all('stderr')).toBe('b-err\n');
  });
});

describe('--json', () => {
  it('prints one parseable object per output line and per end', () => {
    const { p, all } = printer('json');
    p.output({ commandId: 'c1', nodeId: 'n1', stream: 'stdout', data: 'one\ntwo' });
    p.output({ commandId: 'c1', nodeId: 'n1', stream: 'stderr', data: 'bad\n' });
    p.output({ commandId: 'c1', nodeId: 'n1', stream: 'resize', data: '80x24' });
    p.end(command('c1', 'n1', 'failed'));
    const lines = all('stdout').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      { event: 'output', node: 'web-1', nodeId: 'n1', commandId: 'c1', stream: 'stdout', data: 'one' },
      { event: 'output', node: 'web-1', nodeId: 'n1', commandId: 'c1', stream: 'stderr', data: 'bad' },
      { event: 'output', node: 'web-1', nodeId: 'n1', commandId: 'c1', stream: 'stdout', data: 'two' },
      { event: 'end', node: 'web-1', nodeId: 'n1', commandId: 'c1', state: 'failed', exitCode: 3, signal: null, error: null },
    ]);
    expect(all('stderr')).toBe('');
  });
});
