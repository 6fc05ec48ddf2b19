import { describe, expect, it } from 'vitest';
import { progressRow, showProgress } from '../src/command-progress.js';
import { ProgressBar, ProgressBoard } from '../src/progress.js';

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

describe('ProgressBoard', () => {
  it('draws one line per node, redrawn in place, and a new phase starts its bar afresh', () => {
    const t = terminal(true);
    const board = new ProgressBoard(t.out);
    board.set('node_a', 'web-1 archiving', 512, 1024, 'bytes', '3/8 files');
    expect(t.writes).toHaveLength(1);
    expect(t.writes[0]).toMatch(/^\r\u001b\[Jweb-1 archiving \[#{12}-{12}\] 50% 512B\/1Ki {2}\S+\/s {2}3\/8 files$/);
    board.set('node_b', 'web-2 scanning', 2048, null);
    // Within the redraw interval nothing is drawn, but the rows keep the news.
    expect(t.writes).toHaveLength(1);
    expect(board.lines()).toEqual([expect.stringMatching(/^web-1 archiving \[/), expect.stringMatching(/^web-2 scanning 2Ki {2}\S+\/s$/)]);
    board.set('node_a', 'web-1 uploading', 0, 4096);
    expect(board.lines()[0]).toMatch(/^web-1 uploading \[-{24}\] 0% 0B\/4Ki/);
    board.clear();
    // One line was drawn: back to its start and erase down.
    expect(t.writes.at(-1)).toBe('\r\u001b[J');
  });

  it('goes back up over every drawn line before redrawing and when clearing', async () => {
    const t = terminal(true);
    const board = new ProgressBoard(t.out);
    board.set('a', 'a scanning', 1, null);
    board.clear(); // allows an immediate redraw
    board.set('a', 'a scanning', 2, null);
    board.set('b', 'b scanning', 3, null);
    board.clear();
    board.set('b', 'b scanning', 4, null);
    expect(t.writes.at(-1)).toMatch(/^\r\u001b\[J/);
    // Drawn with two rows: the next erase climbs one line.
    expect(t.writes.at(-1)).toContain('\n');
    board.clear();
    expect(t.writes.at(-1)).toBe('\r\u001b[1A\u001b[J');
  });

  it('draws nothing when the output is not a terminal', () => {
    const t = terminal(false);
    const board = new ProgressBoard(t.out);
    board.set('a', 'a archiving', 1, 2);
    board.clear();
    expect(t.writes).toEqual([]);
  });
});

describe('command progress rows', () => {
  it('label a row with the node and phase, and note files when they are counted', async () => {
    const p = { phase: 'archiving', unit: 'bytes' as const, done: 10, total: 20, at: 0 };
    expect(progressRow('web-1', { ...p, filesDone: 3, filesTotal: 8 })).toEqual({ label: 'web-1 archiving  ', note: '3/8 files' });
    expect(progressRow('web-1', { ...p, filesDone: 3 })).toEqual({ label: 'web-1 archiving  ', note: '3 files' });
    expect(progressRow('web-1', p)).toEqual({ label: 'web-1 archiving  ', note: '' });
    const t = terminal(true);
    const board = new ProgressBoard(t.out);
    const event = { kind: 'command.progress' as const, at: 0, commandId: 'cmd_1', nodeId: 'node_1', jobId: null, type: 'backup.run', progress: { ...p, filesDone: 3, filesTotal: 8 } };
    await showProgress(board, event, { name: async (id: string) => (id === 'node_1' ? 'web-1' : id) });
    expect(board.lines()).toEqual([expect.stringMatching(/^web-1 archiving {3}\[#{12}-{12}\] 50% 10B\/20B {2}\S+\/s {2}3\/8 files$/)]);
  });
});
