import { describe, expect, it } from 'vitest';
import { makePrinter, type RunFormat } from '../src/run/printers.js';
import { truncationNotice, type RunTerminal } from '../src/run/printer.js';

function terminal() {
  const out = { stdout: '', stderr: '' };
  const term: RunTerminal = {
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    colourStdout: false,
    colourStderr: false,
    liveSummary: false,
  };
  return { out, term };
}

function printer(format: RunFormat, total: number) {
  const t = terminal();
  const names = ['web-1', 'web-22'];
  const p = makePrinter({ format, term: t.term, nameOf: (id) => (id === 'n1' ? 'web-1' : 'web-22'), names, total });
  return { p, out: t.out };
}

describe('steward run printers: a command whose output the control plane cut at its cap', () => {
  it('prefixed lines: what came (including a held partial line) first, then the notice on the node\'s stderr', () => {
    const { p, out } = printer('lines', 2);
    p.output({ commandId: 'c1', nodeId: 'n1', stream: 'stdout', data: 'one\ntw' });
    p.truncated('c1', 'n1', 1000);
    expect(out.stdout).toBe('web-1  | one\nweb-1  | tw\n');
    expect(out.stderr).toBe(`web-1  ! ${truncationNotice(1000)}\n`);
    expect(truncationNotice(1000)).toContain('1000 bytes');
  });

  it('one node: the notice goes to stderr as a line of its own', () => {
    const { p, out } = printer('lines', 1);
    p.output({ commandId: 'c1', nodeId: 'n1', stream: 'stdout', data: 'partial' });
    p.truncated('c1', 'n1', 7);
    expect(out.stdout).toBe('partial');
    expect(out.stderr).toBe(`${truncationNotice(7)}\n`);
  });

  it('--json: a truncated event of its own, not an output line', () => {
    const { p, out } = printer('json', 2);
    p.truncated('c2', 'n2', 42);
    expect(out.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { event: 'truncated', node: 'web-22', nodeId: 'n2', commandId: 'c2', bytes: 42 },
    ]);
  });
});
