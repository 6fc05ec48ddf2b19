import type { Command, ShellOpen } from '@steward/protocol';
import { enc } from '../transport.js';
import { Resource } from './resource.js';

/**
 * Interactive terminals on nodes. A session is a `shell.session` command: read its output with
 * the command output stream (stream 'pty', and 'resize' chunks "COLSxROWS"), its exit code from
 * the command's result.
 */
export class ShellApi extends Resource {
  /** Opens a terminal on the node (id or name); the command may be `awaiting_approval`. */
  async openShell(node: string, opts: ShellOpen): Promise<Command> {
    return this.http.json<Command>('POST', `/nodes/${enc(node)}/shell`, { body: opts });
  }

  /** Sends typed input; `seq` starts at 0 and increases by one per call (a repeat is ignored). */
  async shellInput(commandId: string, seq: number, data: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.http.json('POST', `/commands/${enc(commandId)}/input`, { body: { seq, data }, signal: opts.signal });
  }

  async shellResize(commandId: string, cols: number, rows: number): Promise<void> {
    await this.http.json('POST', `/commands/${enc(commandId)}/resize`, { body: { cols, rows } });
  }
}
