import type { Command } from '@steward/protocol';
import { resultHeader } from './result-view.js';
import { nodeColour, paint, STDERR_MARK_COLOUR } from './colour.js';
import { LiveSummary } from './live-summary.js';
import { RunPrinter, type NodeLine, type OutputStreamName, type RunTerminal } from './printer.js';

export type NameOf = (nodeId: string) => string;

/** `[web-1]` of an end line in the node's colour, the rest as resultHeader gives it. */
function endLine(c: Command, node: string, colour: boolean, streamed: boolean): string {
  const header = resultHeader(c, node, streamed);
  return paint(`[${node}]`, nodeColour(node), colour) + header.slice(node.length + 2);
}

/**
 * Several nodes, lines as they come: `web-1   | text` on stdout, `web-1   ! text` on stderr,
 * names padded to the longest, each node in its colour on a terminal; a node's end as
 * `[web-1] succeeded exit=0 1.2s`; the live summary kept below on stderr.
 */
export class LinePrinter extends RunPrinter {
  private width: number;

  constructor(
    private readonly term: RunTerminal,
    private readonly nameOf: NameOf,
    names: readonly string[],
    private readonly summary: LiveSummary,
  ) {
    super();
    this.width = Math.max(0, ...names.map((n) => n.length));
  }

  /** `web-1   | ` (or `!` for stderr), as printed. */
  prefix(node: string, stream: OutputStreamName, colour: boolean): string {
    this.width = Math.max(this.width, node.length);
    const name = paint(node.padEnd(this.width), nodeColour(node), colour);
    return stream === 'stdout' ? `${name} | ` : `${name} ${paint('!', STDERR_MARK_COLOUR, colour)} `;
  }

  protected print(lines: NodeLine[]): void {
    this.summary.clear();
    let out = '';
    let err = '';
    for (const l of lines) {
      const node = this.nameOf(l.nodeId);
      if (l.stream === 'stdout') out += `${this.prefix(node, 'stdout', this.term.colourStdout)}${l.text}\n`;
      else err += `${this.prefix(node, 'stderr', this.term.colourStderr)}${l.text}\n`;
    }
    if (out) this.term.stdout(out);
    if (err) this.term.stderr(err);
    this.summary.draw();
  }

  protected ended(c: Command, streamed: boolean): void {
    this.summary.clear();
    this.summary.ended(c.state === 'succeeded');
    this.term.stdout(`${endLine(c, this.nameOf(c.nodeId), this.term.colourStdout, streamed)}\n`);
    this.summary.draw();
  }

  override clearStatus(): void {
    this.summary.clear();
  }

  override finish(): void {
    super.finish();
    this.summary.clear();
  }
}

/**
 * One node: its output passes through as it comes, unprefixed and not held for whole lines
 * (as ssh shows it), stdout to stdout and stderr to stderr; then its end line.
 */
export class RawPrinter extends RunPrinter {
  private readonly open = { stdout: false, stderr: false };

  constructor(
    private readonly term: RunTerminal,
    private readonly nameOf: NameOf,
  ) {
    super();
  }

  protected override chunk(_commandId: string, _nodeId: string, stream: OutputStreamName, data: string): void {
    this.term[stream](data);
    this.open[stream] = !data.endsWith('\n');
  }

  protected print(lines: NodeLine[]): void {
    for (const l of lines) this.term[l.stream](`${l.text}\n`);
  }

  protected ended(c: Command, streamed: boolean): void {
    // The end line starts a line of its own even after output without a final newline.
    for (const s of ['stdout', 'stderr'] as const) if (this.open[s]) this.term[s]('\n');
    this.open.stdout = this.open.stderr = false;
    this.term.stdout(`${endLine(c, this.nameOf(c.nodeId), this.term.colourStdout, streamed)}\n`);
  }
}
