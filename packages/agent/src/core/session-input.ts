import type { Logger } from 'pino';

/** What a running interactive command (a shell session) receives while it runs. */
export interface SessionReceiver {
  /** Typed input with the session's sequence number; never logged or journaled (passwords). */
  input(seq: number, data: string): void;
  resize(cols: number, rows: number): void;
}

/** A command's way to receive `session.input` / `session.resize`: attach once it can take them. */
export interface SessionChannel {
  attach(receiver: SessionReceiver): void;
}

/**
 * The running commands that take input, by command id. Input for a command that has none (an
 * unknown id, a finished session, a command that is not interactive) is dropped.
 */
export class SessionInputs {
  private readonly receivers = new Map<string, SessionReceiver>();

  constructor(private readonly log: Logger) {}

  /** The channel handed to a command's handler; detached by `end` when the command ends. */
  channel(commandId: string): SessionChannel {
    return { attach: (receiver) => void this.receivers.set(commandId, receiver) };
  }

  end(commandId: string): void {
    this.receivers.delete(commandId);
  }

  input(commandId: string, seq: number, data: string): void {
    const r = this.receivers.get(commandId);
    // The size only: the bytes may be a password.
    if (!r) return this.log.debug({ commandId, seq, bytes: data.length }, 'input for no running session; dropped');
    r.input(seq, data);
  }

  resize(commandId: string, cols: number, rows: number): void {
    const r = this.receivers.get(commandId);
    if (!r) return this.log.debug({ commandId, cols, rows }, 'resize for no running session; dropped');
    r.resize(cols, rows);
  }
}
