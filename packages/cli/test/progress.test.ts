import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../src/progress.js';

/** A stand-in for stderr that records what is drawn. */
function terminal(isTTY: boolean) {
  const writes: string[] = [];
  return { out: { isTTY, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream, writes };
}

describe('ProgressBar', () => {
  it('draws a bar of nodes done on a terminal and clears it before other output', () => {
    const t = terminal(true);
    const bar = new ProgressBar('nodes done', 4, 'count', t.out);
    bar.set(1);
    expect(t.writes).toEqual(['\r\u001b[K' + 'nodes done [######------------------] 25% 1/4']);
    bar.clear();
    expect(t.writes.at(-1)).toBe('\r\u001b[K');
    bar.set(4);
    expect(t.writes.at(-1)).toContain('[########################] 100% 4/4');
  });

  it('shows bytes with a rate, or a counter when the total is unknown', () => {
    const bar = new ProgressBar('upload', 4 * 1024 * 1024, 'bytes', terminal(true).out);
    bar.add(1024 * 1024);
    expect(bar.line()).toMatch(/^upload \[######-{18}\] 25% 1Mi\/4Mi {2}\S+\/s$/);
    const open = new ProgressBar('download', null, 'bytes', terminal(true).out);
    open.add(2048);
    expect(open.line()).toMatch(/^download 2Ki {2}\S+\/s$/);
  });

  it('draws nothing when the output is not a terminal', () => {
    const t = terminal(false);
    const bar = new ProgressBar('upload', 10, 'bytes', t.out);
    bar.add(5);
    bar.clear();
    expect(t.writes).toEqual([]);
  });
});
