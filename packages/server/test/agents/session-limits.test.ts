import { CommandSigner } from '../../src/security/signing-key.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL_VERSION, type CommandProgress, type HelloMessage, type Stats, type StewardEvent } from '@steward/protocol';
import { Link } from '../../src/agents/link.js';
import { MemoryTransport, type MemoryAgentEnd } from '../../src/agents/transports/memory.js';
import { CatalogCache } from '../../src/commands/catalogs.js';
import { PayloadChecker } from '../../src/commands/payload-check.js';
import { CommandService } from '../../src/commands/service.js';
import type { Context } from '../../src/core/context.js';
import { DEFAULT_LIMITS } from '../../src/core/limits.js';
import { makeCredential } from '../../src/security/secrets.js';
import { getNodeRow, insertNode } from '../../src/store/queries/nodes.js';
import { EMPTY_INVENTORY } from '../../src/store/rows.js';
import { waitFor } from '../../../../test/support/wait.js';
import { RAW_STATS } from '../../../../test/support/raw-agent.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { nodeRow, T0 } from '../helpers/rows.js';
import { testContext } from '../helpers/context.js';

/**
 * The limits a session puts on one agent, over the memory transport with the real link on a
 * real store: a bounded queue that stops reading (or drops, where the transport cannot pause),
 * and per-node rates on heartbeats, closing a node that keeps flooding. Each test ends with the
 * node (or another one) still served: a later message handled is the positive marker.
 */

const inventory: HelloMessage['inventory'] = {
  ...EMPTY_INVENTORY,
  hostname: 'lim-1',
  commandTypes: [{ type: 'exec.run', module: 'exec', safeToRerun: false }],
};
const stats: Stats = { ...RAW_STATS, collectedAt: T0 };
let seq = 0;
const heartbeat = (outbox: string[] = []) => ({ type: 'heartbeat' as const, seq: seq++, stats, running: [], outbox });

describe.each(storeTargets())('session limits on $name', (target) => {
  const fresh = useFreshStore(target);
  let clock: { now: number };
  let ctx: Context;
  let link: Link;
  let commands: CommandService;
  let memory: MemoryTransport;
  const nodes: { id: string; credential: string }[] = [];

  beforeEach(async () => {
    clock = { now: T0 + 3_600_000 };
    ctx = testContext(fresh.store, clock);
    ctx.settings.limits = { ...DEFAULT_LIMITS, sessionQueue: 4, heartbeatBurst: 5, heartbeatsPerMinute: 60, abuseDropsPerMinute: 80 };
    memory = new MemoryTransport();
    link = new Link(ctx, 'replica-test', CommandSigner.ephemeral()).use(memory);
    commands = new CommandService(ctx, link, new PayloadChecker(), new CatalogCache());
    link.receive(commands);
    await link.install(null);
    nodes.length = 0;
    for (const name of ['lim-a', 'lim-b']) {
      const row = nodeRow({ name, status: 'offline' });
      const cred = makeCredential(row.id);
      await insertNode(ctx.store.db, { ...row, credential_hash: cred.hash });
      nodes.push({ id: row.id, credential: cred.credential });
    }
  });

  afterEach(async () => {
    await link.close();
  });

  async function connect(i: number, o: { pausable?: boolean } = {}): Promise<MemoryAgentEnd> {
    const end = await memory.connect(nodes[i]!.credential, o);
    end.send({ type: 'hello', protocol: AGENT_PROTOCOL_VERSION, inventory, running: [], outbox: [] });
    await end.next('welcome');
    return end;
  }

  /** A heartbeat whose handling is seen: an outbox id the store never heard of is acknowledged at its end. */
  async function beat(end: MemoryAgentEnd): Promise<void> {
    const marker = `cmd_marker${String(seq++).padStart(12, '0')}`;
    end.send(heartbeat([marker]));
    await end.next('result.ack', (m) => m.commandIds.includes(marker));
  }

  async function running(end: MemoryAgentEnd, nodeId: string): Promise<string> {
    const { command } = await commands.submit({ node: nodeId, type: 'exec.run', payload: { command: 'true' } });
    await end.next('command.dispatch', (m) => m.command.id === command.id);
    end.send({ type: 'command.started', commandId: command.id, at: clock.now });
    return command.id;
  }

  const progress = (done: number): CommandProgress => ({ phase: 'copying', unit: 'bytes', done, total: 100, at: clock.now });

  async function dropped(reason: string): Promise<number> {
    const line = (await ctx.metrics.text()).split('\n').find((l) => l.startsWith(`steward_agent_messages_dropped_total{reason="${reason}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  it('a full session queue stops reading from the agent and reads again once drained: nothing is lost, all in order', async () => {
    const seen: number[] = [];
    ctx.bus.subscribe(({ event }) => void (event.kind === 'command.progress' && seen.push((event as Extract<StewardEvent, { kind: 'command.progress' }>).progress.done)));
    const end = await connect(0);
    const id = await running(end, nodes[0]!.id);
    for (let i = 0; i < 40; i++) end.send({ type: 'command.progress', commandId: id, progress: progress(i) });
    await waitFor('the 40th progress event', () => seen.at(-1) === 39);
    expect(seen).toEqual([...Array(40).keys()]);
    // The queue (4) filled more than once, and each time the session stopped reading instead of buffering.
    expect(end.pauses).toBeGreaterThan(0);
    expect(end.received.filter((m) => m.type === 'error')).toEqual([]);
    await beat(end);
  });

  it('where the transport cannot pause, messages past twice the queue are refused with `overloaded` and counted; the node stays served', async () => {
    let handled = 0;
    ctx.bus.subscribe(({ event }) => void (event.kind === 'command.progress' && handled++));
    const end = await connect(0, { pausable: false });
    const id = await running(end, nodes[0]!.id);
    for (let i = 0; i < 40; i++) end.send({ type: 'command.progress', commandId: id, progress: progress(i) });
    const refused = () => end.received.filter((m) => m.type === 'error' && m.code === 'overloaded').length;
    // Every message is accounted for: handled (a progress event) or refused with an answer.
    await waitFor('each progress handled or refused', () => handled + refused() === 40);
    expect(refused()).toBeGreaterThan(0);
    // Twice the queue (8) were taken, the `command.started` before them among them.
    expect(handled).toBeGreaterThanOrEqual(7);
    expect(await dropped('queue_full')).toBe(refused());
    // Once handled, the queue takes messages again.
    await beat(end);
  });

  it('drops and counts a flood of heartbeats over the node\'s rate; the node stays online, and beats again once the bucket refills', async () => {
    const end = await connect(0);
    const other = await connect(1);
    const marker = 'cmd_floodmarker000000000';
    // 5 fit in the burst; the 60 after them are dropped unhandled (no ack for their outbox).
    for (let i = 0; i < 65; i++) end.send(heartbeat(i === 64 ? [marker] : []));
    await waitFor('60 heartbeats dropped', async () => (await dropped('heartbeat_rate')) === 60);
    // The other node's bucket is its own.
    await beat(other);
    expect(end.received.some((m) => m.type === 'result.ack' && m.commandIds.includes(marker))).toBe(false);
    expect(end.closedWith).toBeNull();
    expect((await getNodeRow(ctx.store.db, nodes[0]!.id))?.status).toBe('online');
    clock.now += 60_000;
    await beat(end);
  });

  it('closes the connection of a node that keeps flooding (4008), and only that one', async () => {
    const end = await connect(0);
    const other = await connect(1);
    for (let i = 0; i < 120; i++) end.send(heartbeat());
    await end.closed();
    expect(end.closedWith).toEqual({ code: 4008, reason: 'rate limit exceeded' });
    expect(await dropped('heartbeat_rate')).toBe(81);
    await beat(other);
    expect(link.connected(nodes[1]!.id)).toBe(true);
  });
});
