import type { StewardClient } from '@steward/client';
import type { Command } from '@steward/protocol';

export type SessionEvent =
  | { event: 'output'; seq: number; stream: 'stdout' | 'stderr' | 'pty' | 'resize'; data: string }
  | { event: 'end'; command: Command };

/** The session's output from its start, then live, until it ends or `signal` aborts (placeholder until the stream client lands). */
export async function* followSession(client: StewardClient, id: string, signal: AbortSignal): AsyncIterable<SessionEvent> {
  void client;
  void id;
  void signal;
  yield* [];
}
