import type { Command } from '@steward/protocol';
import { execView } from '../command-view.js';
import type { NameOf } from './line-printer.js';
import { RunPrinter, type NodeLine, type RunTerminal } from './printer.js';

/**
 * `--json`: one JSON object per line on stdout, as things happen: each output line
 * (`{"event":"output","node","nodeId","commandId","stream","data"}`), each node's end
 * (`{"event":"end",…,"state","exitCode","signal","error"}`), a command whose output the control
 * plane cut at its cap (`{"event":"truncated",…,"bytes"}`); the caller adds the final
 * `{"event":"done",…}`.
 */
export class JsonPrinter extends RunPrinter {
  constructor(
    private readonly term: RunTerminal,
    private readonly nameOf: NameOf,
  ) {
    super();
  }

  protected print(lines: NodeLine[]): void {
    this.term.stdout(
      lines
        .map((l) => `${JSON.stringify({ event: 'output', node: this.nameOf(l.nodeId), nodeId: l.nodeId, commandId: l.commandId, stream: l.stream, data: l.text })}\n`)
        .join(''),
    );
  }

  override truncated(commandId: string, nodeId: string, bytes: number): void {
    this.term.stdout(`${JSON.stringify({ event: 'truncated', node: this.nameOf(nodeId), nodeId, commandId, bytes })}\n`);
  }

  protected ended(c: Command): void {
    const v = execView(c);
    const end = { event: 'end', node: this.nameOf(c.nodeId), nodeId: c.nodeId, commandId: c.id, state: c.state, exitCode: v.exitCode, signal: v.signal, error: c.error };
    this.term.stdout(`${JSON.stringify(end)}\n`);
  }
}
