import type { ServerMessage } from './messages.js';

/**
 * Version of the agent ⇄ control plane WebSocket protocol, `MAJOR.MINOR`. The minor goes up when
 * a message type is added (a side that does not know it must not be sent it); the major when a
 * message's shape changes incompatibly. 1.1 added `config.desired`, `config.status` and
 * `catalog.update` (fleet configuration); the welcome's optional `restored` and its answer
 * `command.recent` need no version (sent only when the other side asked), nor do the hello's
 * `fencing` and its answers, the welcome's `fence` and `heartbeat.ack` (task fencing). Agents before 1.1
 * sent the integer 1, read as 1.0.
 */
export const AGENT_PROTOCOL_VERSION = '1.1';

/** A protocol version taken apart. */
export interface ProtocolVersion {
  major: number;
  minor: number;
}

/** The error code and WebSocket close code of a refused protocol version. */
export const PROTOCOL_UNSUPPORTED = 'protocol_unsupported';
export const PROTOCOL_UNSUPPORTED_CLOSE = 4002;

/** `"1.1"` → {1, 1}; the integer `1` (agents before 1.1) → {1, 0}; anything else → null. */
export function parseProtocolVersion(v: unknown): ProtocolVersion | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? { major: v, minor: 0 } : null;
  if (typeof v !== 'string') return null;
  const m = /^(\d{1,6})\.(\d{1,6})$/.exec(v);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

export function formatProtocolVersion(v: ProtocolVersion): string {
  return `${v.major}.${v.minor}`;
}

/**
 * The skew rule: a control plane serves agents of its own major whose minor is at most one
 * away from its own. Older agents are told to upgrade; newer ones, to upgrade the control plane.
 */
export function protocolSkew(agent: ProtocolVersion, server: ProtocolVersion): 'ok' | 'agent_too_old' | 'agent_too_new' {
  if (agent.major < server.major) return 'agent_too_old';
  if (agent.major > server.major) return 'agent_too_new';
  if (agent.minor < server.minor - 1) return 'agent_too_old';
  if (agent.minor > server.minor + 1) return 'agent_too_new';
  return 'ok';
}

/**
 * The minor (within major 1) that introduced each control plane → agent message. The control
 * plane sends a message only to agents whose minor is at least this (see `agentAccepts`), so an
 * agent one minor older never receives a type it would refuse. A new server message is listed
 * here with the minor that introduced it; the type checker makes sure every type has an entry.
 */
export const SERVER_MESSAGE_SINCE: Readonly<Record<ServerMessage['type'], number>> = {
  welcome: 0,
  'command.dispatch': 0,
  'command.cancel': 0,
  'session.input': 0,
  'session.resize': 0,
  'result.ack': 0,
  'output.ack': 0,
  config: 0,
  error: 0,
  'signing.keys': 0,
  'credential.rotate': 0,
  'config.desired': 1,
  // Sent only to an agent whose hello asked for it (`fencing`), like the welcome's `restored`: no version of its own.
  'heartbeat.ack': 1,
};

/** Whether an agent speaking `agent` knows the message type (a newer major knows every type of ours). */
export function agentAccepts(agent: ProtocolVersion, type: ServerMessage['type']): boolean {
  const own = parseProtocolVersion(AGENT_PROTOCOL_VERSION)!;
  if (agent.major !== own.major) return agent.major > own.major;
  return agent.minor >= SERVER_MESSAGE_SINCE[type];
}
