import type { RunTerminal } from '../../src/run/printer.js';

/** A RunTerminal that records what went where, in order; `tty` as if both were a terminal. */
export function recorder(tty = false) {
  const writes: { to: 'stdout' | 'stderr'; text: string }[] = [];
  const term: RunTerminal = {
    stdout: (text) => void writes.push({ to: 'stdout', text }),
    stderr: (text) => void writes.push({ to: 'stderr', text }),
    colourStdout: tty,
    colourStderr: tty,
    liveSummary: tty,
  };
  const all = (to: 'stdout' | 'stderr') => writes.filter((w) => w.to === to).map((w) => w.text).join('');
  return { term, writes, all };
}
