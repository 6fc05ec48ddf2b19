import type { Command } from '@steward/protocol';
import { resultHeader } from './result-view.js';
import type { LiveSummary } from './live-summary.js';
import type { NameOf } from './line-printer.js';
import { RunPrinter, type NodeLine, type RunTerminal } from './printer.js';

const RULE = '-'.repeat(16);

/**
 * `--group`: each node's whole output as one block when it ends, like dshbak: a header with
 * the node and how it ended between two rules, then its lines unprefixed (stderr lines to
 * stderr). Output is held in memory until then (bounded by the control plane's per-command cap).
 */
export class GroupPrinter extends RunPrinter {
  private readonly held = new Map<string, NodeLine[]>();

  constructor(
    private readonly term: RunTerminal,
    private readonly nameOf: NameOf,
    private readonly summary: LiveSummary,
  ) {
    super();
  }

  protected print(lines: NodeLine[]): void {
    for (const l of lines) {
      const block = this.held.get(l.commandId) ?? [];
      block.push(l);
      this.held.set(l.commandId, block);
    }
  }

  protected ended(c: Command, streamed: boolean): void {
    this.summary.clear();
    this.summary.ended(c.state === 'succeeded');
    this.block(c.id, resultHeader(c, this.nameOf(c.nodeId), streamed));
    this.summary.draw();
  }

  /** Nodes that did not end before the wait gave up still show what they printed. */
  override clearStatus(): void {
    this.summary.clear();
  }

  override finish(): void {
    super.finish();
    this.summary.clear();
    for (const [commandId, lines] of [...this.held]) this.block(commandId, `[${this.nameOf(lines[0]!.nodeId)}] has not ended`);
  }

  private block(commandId: string, header: string): void {
    const lines = this.held.get(commandId) ?? [];
    this.held.delete(commandId);
    this.term.stdout(`${RULE}\n${header}\n${RULE}\n`);
    for (const l of lines) this.term[l.stream](`${l.text}\n`);
  }
}
