import { StringDecoder } from 'node:string_decoder';
import type { Logger } from 'pino';
import { OUTPUT_CHUNK_BYTES, OUTPUT_CHUNKS_PER_MESSAGE, type CommandOutputMessage, type OutputChunk, type OutputStream } from '@steward/protocol';
import { cutUtf8, splitUtf8 } from '@steward/protocol/node';

/** Default per-command cap of streamed output (the control plane's default cap too). */
export const DEFAULT_MAX_STREAM_BYTES = 8 * 1024 * 1024;

/**
 * Default `exec.maxOutputBytes`: the tail of each stream kept in exec.run's result. The whole
 * output (up to the cap above) is in the control plane's output store, so the result needs only
 * the end; a large tail costs the control plane its size again per node in a big job.
 */
export const DEFAULT_RESULT_TAIL_BYTES = 64 * 1024;

/**
 * Where a running handler writes its output (`ctx.output`): cheap to call as often as data
 * comes. Bytes are decoded as UTF-8 per stream, so a character split between two writes stays
 * whole; `resize` takes `<cols>x<rows>`.
 */
export interface OutputSink {
  write(stream: OutputStream, data: Buffer | string): void;
}

/** For commands whose output is not streamed (those asked for on the inbound API). */
export const NO_OUTPUT: OutputSink = { write() {} };

/** Where chunks go: journaled first (the outbox), then sent (dropped by the link while disconnected). */
export interface OutputOutbox {
  outputSeq(commandId: string): number;
  appendOutput(commandId: string, chunks: readonly OutputChunk[]): void;
}

/**
 * Streams one command's output. Writes made in the same moment are coalesced and flushed on
 * the next turn of the event loop (setImmediate), so the first byte leaves within a
 * millisecond or two of the process writing it. Each chunk is journaled before it is sent;
 * past `maxBytes` one last stderr chunk says the output was cut and the rest is dropped.
 */
export class CommandOutput implements OutputSink {
  private readonly decoders = new Map<OutputStream, StringDecoder>();
  private pending: { stream: OutputStream; text: string }[] = [];
  private seq: number;
  private bytes = 0;
  private stopped = false;
  private closed = false;
  private scheduled: NodeJS.Immediate | null = null;

  constructor(
    private readonly commandId: string,
    private readonly outbox: OutputOutbox,
    private readonly send: (msg: CommandOutputMessage) => void,
    private readonly maxBytes: number,
    private readonly log: Logger,
  ) {
    this.seq = outbox.outputSeq(commandId);
  }

  write(stream: OutputStream, data: Buffer | string): void {
    if (this.closed || this.stopped) return;
    const text = typeof data === 'string' ? data : this.decoder(stream).write(data);
    this.queue(stream, text);
  }

  /** Flushes what is left (a trailing partial character included) and stops taking writes. */
  close(): void {
    if (this.closed) return;
    for (const [stream, d] of this.decoders) this.queue(stream, d.end());
    this.flush();
    this.closed = true;
  }

  private decoder(stream: OutputStream): StringDecoder {
    let d = this.decoders.get(stream);
    if (!d) this.decoders.set(stream, (d = new StringDecoder('utf8')));
    return d;
  }

  private queue(stream: OutputStream, text: string): void {
    if (text === '') return;
    const last = this.pending[this.pending.length - 1];
    if (last && last.stream === stream && stream !== 'resize') last.text += text;
    else this.pending.push({ stream, text });
    this.scheduled ??= setImmediate(() => this.flush());
  }

  private flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    const parts = this.pending;
    this.pending = [];
    if (parts.length === 0 || this.stopped) return;
    const at = Date.now();
    const chunks: OutputChunk[] = [];
    for (const { stream, text } of parts) {
      for (const piece of splitUtf8(text, OUTPUT_CHUNK_BYTES)) {
        const size = Buffer.byteLength(piece);
        if (this.bytes + size > this.maxBytes) {
          const room = cutUtf8(piece, this.maxBytes - this.bytes);
          if (room) chunks.push({ seq: this.seq++, stream, data: room, at });
          this.bytes += Buffer.byteLength(room);
          chunks.push({ seq: this.seq++, stream: 'stderr', data: `\n[steward: output truncated after ${this.bytes} bytes]\n`, at });
          this.stopped = true;
          break;
        }
        this.bytes += size;
        chunks.push({ seq: this.seq++, stream, data: piece, at });
      }
      if (this.stopped) break;
    }
    try {
      this.outbox.appendOutput(this.commandId, chunks);
    } catch (err) {
      // Not journaled, so not sent: a chunk the control plane got must survive a crash.
      this.log.warn({ err, commandId: this.commandId }, 'could not journal command output; the rest of it is dropped');
      this.stopped = true;
      return;
    }
    for (let i = 0; i < chunks.length; i += OUTPUT_CHUNKS_PER_MESSAGE) {
      this.send({ type: 'command.output', commandId: this.commandId, chunks: chunks.slice(i, i + OUTPUT_CHUNKS_PER_MESSAGE) });
    }
  }
}

/** Groups journaled chunks into `command.output` messages: one command, contiguous seqs, at most the per-message count. */
export function outputMessages(pending: Iterable<OutputChunk & { commandId: string }>, send: (msg: CommandOutputMessage) => void): void {
  let msg: CommandOutputMessage | null = null;
  for (const { commandId, ...chunk } of pending) {
    const prev: OutputChunk | undefined = msg?.chunks[msg.chunks.length - 1];
    if (!msg || msg.commandId !== commandId || msg.chunks.length >= OUTPUT_CHUNKS_PER_MESSAGE || prev!.seq + 1 !== chunk.seq) {
      if (msg) send(msg);
      msg = { type: 'command.output', commandId, chunks: [] };
    }
    msg.chunks.push(chunk);
  }
  if (msg) send(msg);
}
