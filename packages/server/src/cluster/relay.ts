import type { ServerMessage, StewardEvent } from '@steward/protocol';

/** What replicas tell each other; each replica acts only on what it holds locally. */
export type RelayMessage =
  | { kind: 'event'; event: StewardEvent }
  | { kind: 'dispatch'; nodeId: string; ids: string[] }
  | { kind: 'send'; nodeId: string; msg: ServerMessage }
  | { kind: 'close'; nodeId: string; code: number; reason: string };

/**
 * Carries messages between control-plane replicas that share one PostgreSQL. A single SQLite
 * process has none. Best effort: a lost message is repaired by the agent's next heartbeat.
 */
export interface Relay {
  start(onMessage: (msg: RelayMessage) => void): Promise<void>;
  publish(msg: RelayMessage): void;
  stop(): Promise<void>;
}
