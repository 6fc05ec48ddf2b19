import WebSocket from 'ws';
import { AGENT_CONNECT_PATH, AGENT_ENROLL_PATH, AGENT_PROTOCOL_VERSION, type Inventory, type Stats } from '@steward/protocol';
import type { StewardClient } from '@steward/client';
import { waitFor } from './wait.js';

/** A small, valid inventory for an agent a test plays by hand (`over` replaces fields: its modules, types…). */
export function rawInventory(hostname = 'raw', over: Partial<Inventory> = {}): Inventory {
  return {
    hostname,
    addresses: [],
    os: { platform: 'linux', release: 'x' },
    arch: 'x64',
    agentVersion: 'test',
    cpuCores: 1,
    memoryBytes: 1,
    disks: [],
    capabilities: [],
    modules: ['exec'],
    commandTypes: [{ type: 'exec.run', module: 'exec', safeToRerun: false }],
    ...over,
  };
}

/** Heartbeat figures that pass every cap. */
export const RAW_STATS: Stats = {
  collectedAt: 0,
  cpu: { usagePercent: 1, cores: 1 },
  load: [0, 0, 0],
  memory: { totalBytes: 1, availableBytes: 1, usedBytes: 0 },
  disks: [],
  network: [],
  uptimeSeconds: 1,
  agentUptimeSeconds: 1,
};

export interface RawAgent {
  nodeId: string;
  ws: WebSocket;
  /** Every message received and not yet taken by `next`, in order. */
  inbox: any[];
  /** The types of every message received, in order. */
  order: string[];
  send(m: unknown): void;
  /** The first message of `type` (past or future) matching; taken out of the inbox. */
  next(type: string, match?: (m: any) => boolean): Promise<any>;
}

/**
 * Enrolls a node (with `labels`) and connects a WebSocket that said hello and got its welcome:
 * the test plays the agent, to send what it wants and see what the control plane sends.
 */
export async function rawAgent(url: string, client: StewardClient, name: string, labels: Record<string, string> = {}): Promise<RawAgent> {
  const { token } = await client.createEnrollmentToken({ labels });
  const inventory = rawInventory(name);
  const res = await fetch(url + AGENT_ENROLL_PATH, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, name, inventory }) });
  if (res.status !== 201) throw new Error(`enrolling ${name}: ${res.status} ${await res.text()}`);
  const { nodeId, credential } = (await res.json()) as { nodeId: string; credential: string };
  const ws = new WebSocket(url.replace('http', 'ws') + AGENT_CONNECT_PATH, { headers: { authorization: `Bearer ${credential}` } });
  const inbox: any[] = [];
  const order: string[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(String(d));
    inbox.push(m);
    order.push(m.type);
  });
  await new Promise<void>((ok, fail) => (ws.once('open', () => ok()), ws.once('error', fail)));
  const next = async (type: string, match: (m: any) => boolean = () => true) => {
    const msg = await waitFor(`a ${type} message for ${name}`, () => inbox.find((m) => m.type === type && match(m)), { timeoutMs: 20_000, intervalMs: 20 });
    inbox.splice(inbox.indexOf(msg), 1);
    return msg;
  };
  const send = (m: unknown) => ws.send(JSON.stringify(m));
  send({ type: 'hello', protocol: AGENT_PROTOCOL_VERSION, inventory, running: [], outbox: [] });
  await next('welcome');
  return { nodeId, ws, inbox, order, send, next };
}
