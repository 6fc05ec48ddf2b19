import type { ServerMessage } from '@steward/protocol';
import type { Relay } from '../cluster/relay.js';
import type { AgentSession } from './session.js';

/** The agent sockets this replica holds, by node id; messages for others go through the relay. */
export class AgentHub {
  private readonly sessions = new Map<string, AgentSession>();
  relay: Relay | null = null;

  /** Registers a session; an older one for the same node is closed (the agent reconnected). */
  add(session: AgentSession): void {
    const old = this.sessions.get(session.nodeId);
    this.sessions.set(session.nodeId, session);
    if (old && old !== session) old.close(4001, 'replaced by a newer connection');
  }

  remove(session: AgentSession): void {
    if (this.sessions.get(session.nodeId) === session) this.sessions.delete(session.nodeId);
  }

  get(nodeId: string): AgentSession | undefined {
    return this.sessions.get(nodeId);
  }

  /** Sends to the node wherever it is connected. */
  send(nodeId: string, msg: ServerMessage): void {
    if (!this.sendLocal(nodeId, msg)) this.relay?.publish({ kind: 'send', nodeId, msg });
  }

  sendLocal(nodeId: string, msg: ServerMessage): boolean {
    const s = this.sessions.get(nodeId);
    return s ? s.send(msg) : false;
  }

  /** Closes the node's socket wherever it is connected. */
  disconnect(nodeId: string, code: number, reason: string): void {
    const s = this.sessions.get(nodeId);
    if (s) s.close(code, reason);
    else this.relay?.publish({ kind: 'close', nodeId, code, reason });
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Closes every socket and waits (bounded) until each close was handled. */
  async closeAll(code: number, reason: string, waitMs = 2000): Promise<void> {
    const all = [...this.sessions.values()];
    for (const s of all) s.close(code, reason);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(all.map((s) => s.done)),
      new Promise((r) => (timer = setTimeout(r, waitMs))),
    ]);
    clearTimeout(timer);
    for (const s of all) s.terminate();
    this.sessions.clear();
  }
}
