import type { Command } from '@steward/protocol';
import { execView } from '../command-view.js';
import { LineBuffer } from './line-buffer.js';

/** A piece of a command's output as the job's output stream delivers it. */
export interface RunOutput {
  commandId: string;
  nodeId: string;
  /** 'stdout' | 'stderr' (a terminal's 'pty' counts as stdout; 'resize' is not output). */
  stream: string;
  data: string;
}

export type OutputStreamName = 'stdout' | 'stderr';

/** One whole line of a node's output (without its newline). */
export interface NodeLine {
  commandId: string;
  nodeId: string;
  stream: OutputStreamName;
  text: string;
}

/** Where `steward run` writes, and what it may draw there. */
export interface RunTerminal {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Colour what goes to stdout / to stderr (each only when it is a terminal and NO_COLOR is unset). */
  colourStdout: boolean;
  colourStderr: boolean;
  /** stderr is a terminal: keep the live `n/N done` line there. */
  liveSummary: boolean;
}

/** What `steward run` says where the control plane stopped keeping a command's output. */
export function truncationNotice(bytes: number): string {
  return `[steward: output cut here: the control plane keeps ${bytes} bytes of a command's output (STEWARD_LIMIT_COMMAND_OUTPUT_BYTES); the result has the tail]`;
}

export function streamName(stream: string): OutputStreamName | undefined {
  if (stream === 'stdout' || stream === 'pty') return 'stdout';
  if (stream === 'stderr') return 'stderr';
  return undefined;
}

/**
 * Turns the job's output events into what `steward run` prints. Subclasses decide the form
 * (prefixed lines, one block per node, JSON lines); this base splits chunks into lines per
 * command and stream, and falls back to the output in a command's result when none of it
 * came as chunks (a control plane or agent that does not stream).
 */
export abstract class RunPrinter {
  private readonly lines = new LineBuffer();
  private readonly streamed = new Set<string>();
  private readonly nodeOf = new Map<string, string>();

  output(o: RunOutput): void {
    const stream = streamName(o.stream);
    if (!stream || o.data === '') return;
    this.streamed.add(o.commandId);
    this.nodeOf.set(o.commandId, o.nodeId);
    this.chunk(o.commandId, o.nodeId, stream, o.data);
  }

  /** The command ended: what is still held of its output, then its end. */
  end(c: Command): void {
    if (!this.streamed.has(c.id)) {
      const v = execView(c);
      if (v.stdout) this.chunk(c.id, c.nodeId, 'stdout', v.stdout);
      if (v.stderr) this.chunk(c.id, c.nodeId, 'stderr', v.stderr);
    }
    this.flush(c.id, c.nodeId);
    this.ended(c, this.streamed.has(c.id));
  }

  /**
   * The control plane kept only `bytes` of a command's output (its cap): said on the node's
   * stderr after what came, so nobody takes the cut for the program's own end.
   */
  truncated(commandId: string, nodeId: string, bytes: number): void {
    this.flush(commandId, nodeId);
    this.print([{ commandId, nodeId, stream: 'stderr', text: truncationNotice(bytes) }]);
  }

  /** Erases the live status line, if any, so that a message can be printed (it comes back with the next output). */
  clearStatus(): void {}

  /** No more events will come (every command ended, or the wait gave up): prints what is held. */
  finish(): void {
    for (const [commandId, nodeId] of this.nodeOf) this.flush(commandId, nodeId);
  }

  /** A chunk of one stream: by default, the whole lines it completes are printed. */
  protected chunk(commandId: string, nodeId: string, stream: OutputStreamName, data: string): void {
    const texts = this.lines.push(`${commandId} ${stream}`, data);
    if (texts.length) this.print(texts.map((text) => ({ commandId, nodeId, stream, text })));
  }

  protected abstract print(lines: NodeLine[]): void;
  /** `streamed`: its output came as chunks (not from the result's tail). */
  protected abstract ended(c: Command, streamed: boolean): void;

  private flush(commandId: string, nodeId: string): void {
    const held: NodeLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const text = this.lines.rest(`${commandId} ${stream}`);
      if (text !== undefined) held.push({ commandId, nodeId, stream, text });
    }
    if (held.length) this.print(held);
  }
}
