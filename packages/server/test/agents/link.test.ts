import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL_VERSION, type CommandProgress, type HelloMessage, type Stats, type StewardEvent } from '@steward/protocol';
import { commandFields, verifyFields } from '@steward/protocol/node';
import { Link } from '../../src/agents/link.js';
import { CommandSigner } from '../../src/security/signing-key.js';
import { MemoryTransport, type MemoryAgentEnd } from '../../src/agents/transports/memory.js';
import { IN_FLIGHT_MS } from '../../src/agents/dispatcher.js';
import { CatalogCache } from '../../src/commands/catalogs.js';
import { PayloadChecker } from '../../src/commands/payload-check.js';
import { CommandService } from '../../src/commands/service.js';
import type { Context } from '../../src/core/context.js';
import { makeCredential } from '../../src/security/secrets.js';
import { getCommandRow } from '../../src/store/queries/commands.js';
import { getNodeRow, insertNode } from '../../src/store/queries/nodes.js';
import { EMPTY_INVENTORY } from '../../src/store/rows.js';
import { waitFor } from '../../../../test/support/wait.js';
import { RAW_STATS } from '../../../../test/support/raw-agent.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { nodeRow, T0 } from '../helpers/rows.js';
import { testContext } from '../helpers/context.js';

/**
 * The agent link driven through the in-memory transport: the test plays the agent, with the
 * real session, gateway, dispatcher and command pipeline on a real store. This is the seam
 * every transport plugs into, so what holds here holds for all of them.
 */

const inventory: HelloMessage['inventory'] = {
  ...EMPTY_INVENTORY,
  hostname: 'mem-1',
  commandTypes: [{ type: 'exec.run', module: 'exec', safeToRerun: false }],
};

const stats: Stats = { ...RAW_STATS, collectedAt: T0 };

const hello = (over: Partial<HelloMessage> = {}): HelloMessage => ({ type: 'hello', protocol: AGENT_PROTOCOL_VERSION, inventory, running: [], outbox: [], ...over });
let seq = 0;
const heartbeat = (running: string[] = [], outbox: string[] = []) => ({ type: 'heartbeat' as const, seq: seq++, stats, running, outbox });

describe.each(storeTargets())('agent link over the memory transport on $name', (target) => {
  const fresh = useFreshStore(target);
  let clock: { now: number };
  let ctx: Context;
  let link: Link;
  let commands: CommandService;
  let memory: MemoryTransport;
  let credential: string;
  let nodeId: string;
  let signer: CommandSigner;

  beforeEach(async () => {
    clock = { now: T0 + 3_600_000 };
    ctx = testContext(fresh.store, clock);
    memory = new MemoryTransport();
    signer = CommandSigner.ephemeral();
    link = new Link(ctx, 'replica-test', signer).use(memory);
    commands = new CommandService(ctx, link, new PayloadChecker(), new CatalogCache());
    link.receive(commands);
    await link.install(null);
    const row = nodeRow({ status: 'offline' });
    const cred = makeCredential(row.id);
    await insertNode(ctx.store.db, { ...row, credential_hash: cred.hash });
    credential = cred.credential;
    nodeId = row.id;
  });

  afterEach(async () => {
    await link.close();
  });

  async function connect(over: Partial<HelloMessage> = {}): Promise<MemoryAgentEnd> {
    const end = await memory.connect(credential);
    end.send(hello(over));
    await end.next('welcome');
    return end;
  }

  /**
   * Sends a heartbeat and waits until it was handled. The positive marker: an outbox id the
   * store never heard of is acknowledged at the very end of handling that heartbeat.
   */
  async function beat(end: MemoryAgentEnd, running: string[] = [], outbox: string[] = []): Promise<void> {
    const marker = `cmd_marker${String(seq++).padStart(12, '0')}`;
    end.send(heartbeat(running, [...outbox, marker]));
    await end.next('result.ack', (m) => m.commandIds.includes(marker));
  }

  it('refuses a connection with a bad credential and attaches nothing', async () => {
    await expect(memory.connect(`${nodeId}.not-the-secret`)).rejects.toMatchObject({ code: 'unauthorized' });
    expect(link.count()).toBe(0);
  });

  it('refuses a node the store has no row for with node_unknown (deleted, or enrolled after the backup it was restored from)', async () => {
    await expect(memory.connect('node_enrolledafterbackup0.some-secret')).rejects.toMatchObject({ code: 'node_unknown', status: 401, details: { nodeId: 'node_enrolledafterbackup0' } });
    expect(link.count()).toBe(0);
  });

  it('welcomes the agent, marks the node online and delivers a new command at once', async () => {
    const end = await connect();
    expect(link.connected(nodeId)).toBe(true);
    expect((await getNodeRow(ctx.store.db, nodeId))?.status).toBe('online');
    const { command } = await commands.submit({ node: nodeId, type: 'exec.run', payload: { command: 'true' } });
    const dispatch = await end.next('command.dispatch', (m) => m.command.id === command.id);
    expect(dispatch.command.payload).toEqual({ command: 'true' });
    end.send({ type: 'command.started', commandId: command.id, at: clock.now });
    end.send({ type: 'command.result', commandId: command.id, state: 'succeeded', result: { exitCode: 0 }, startedAt: clock.now, finishedAt: clock.now });
    // Acknowledged only after the result is stored.
    await end.next('result.ack', (m) => m.commandIds.includes(command.id));
    const row = await getCommandRow(ctx.store.db, command.id);
    expect(row).toMatchObject({ state: 'succeeded', deliveries: 1 });
  });

  it('a start arriving together with its result is stored in order: every state is an event, and the result records the start', async () => {
    const states: string[] = [];
    ctx.bus.subscribe(({ event }) => void (event.kind === 'command.state' && states.push(event.state)));
    const end = await connect();
    const { command } = await commands.submit({ node: nodeId, type: 'exec.run', payload: { command: 'true' } });
    await end.next('command.dispatch', (m) => m.command.id === command.id);
    clock.now += 5;
    end.sendTogether(
      { type: 'command.started', commandId: command.id, at: clock.now },
      { type: 'command.result', commandId: command.id, state: 'succeeded', result: { exitCode: 0 }, startedAt: clock.now, finishedAt: clock.now },
    );
    await end.next('result.ack', (m) => m.commandIds.includes(command.id));
    expect(await getCommandRow(ctx.store.db, command.id)).toMatchObject({ state: 'succeeded', started_at: clock.now, finished_at: clock.now });
    // The dashboard shows each step, and webhooks filter by state: a quick command still says running.
    expect(states.slice(-2)).toEqual(['running', 'succeeded']);
  });

  it('keeps a running command\'s latest progress and publishes it; refuses a malformed one; a late one changes nothing', async () => {
    const seen: StewardEvent[] = [];
    ctx.bus.subscribe(({ event }) => void (event.kind === 'command.progress' && seen.push(event)));
    const end = await connect();
    const { command } = await commands.submit({ node: nodeId, type: 'exec.run', payload: { command: 'true' } });
    await end.next('command.dispatch', (m) => m.command.id === command.id);
    end.send({ type: 'command.started', commandId: command.id, at: clock.now });
    const p: CommandProgress = { phase: 'archiving', unit: 'bytes', done: 10, total: 40, filesDone: 1, filesTotal: 4, at: clock.now };
    end.send({ type: 'command.progress', commandId: command.id, progress: p });
    end.send({ type: 'command.progress', commandId: command.id, progress: { ...p, done: 20 } });
    await waitFor('two progress events', () => seen.length === 2);
    expect(seen[1]).toMatchObject({ kind: 'command.progress', commandId: command.id, nodeId, jobId: null, type: 'exec.run', progress: { ...p, done: 20 } });
    expect((await commands.get(command.id)).progress).toEqual({ ...p, done: 20 });

    end.send({ type: 'command.progress', commandId: command.id, progress: { ...p, phase: 'Not A Phase', extra: 1 } } as Record<string, unknown>);
    const bad = await end.next('error', (m) => m.code === 'invalid_message');
    expect(bad.message).toContain('command.progress');

    end.send({ type: 'command.result', commandId: command.id, state: 'succeeded', result: {}, startedAt: clock.now, finishedAt: clock.now });
    await end.next('result.ack', (m) => m.commandIds.includes(command.id));
    // After the end: stored nothing, published nothing. The error answer to the malformed
    // message that follows it is the marker that the late report was handled (in order).
    end.send({ type: 'command.progress', commandId: command.id, progress: { ...p, phase: 'uploading' } });
    end.send({ type: 'command.progress', commandId: command.id, progress: { ...p, done: -1 } });
    await end.next('error', (m) => m.code === 'invalid_message');
    expect(seen).toHaveLength(2);
    expect((await commands.get(command.id)).progress).toEqual({ ...p, done: 20 });
    expect(end.closedWith).toBeNull();
  });

  it('keeps a command for an unconnected node pending and delivers it on hello', async () => {
    const { command } = await commands.submit({ node: nodeId, type: 'exec.run', payload: { command: 'true' } });
    expect((await getCommandRow(ctx.store.db, command.id))?.state).toBe('pending');
    const end = await connect();
    await end.next('command.dispatch', (m) => m.command.id === command.id);
  });

  it('answers a malformed message with an error and keeps the connection', async () => {
    const end = await connect();
    end.send('{not json');
    await end.next('error', (m) => m.code === 'malformed_message');
    end.send({ type: 'heartbeat', seq: -1, stats, running: [], outbox: [] });
    const bad = await end.next('error', (m) => m.code === 'invalid_message');
    expect(bad.message).toContain('seq');
    // Still connected: a valid command reaches it.
    const { command } = await commands.submit({ node: nodeId, type: 'exec.run', payload: { command: 'true' } });
    await end.next('command.dispatch', (m) => m.command.id === command.id);
    expect(end.closedWith).toBeNull();
  });

  it('takes a catalog.update like the catalog of a hello: the stored inventory and the submission check follow', async () => {
    const end = await connect();
    const stored = async () => JSON.parse((await getNodeRow(ctx.store.db, nodeId))!.inventory) as typeof inventory;
    end.send({ type: 'catalog.update', commandTypes: [{ type: 'sys.ping', module: 'sys', safeToRerun: true }], modules: ['sys'], capabilities: ['gpu'] });
    await beat(end); // handled in order: the update before this heartbeat
    expect(await stored()).toMatchObject({ hostname: 'mem-1', modules: ['sys'], commandTypes: [{ type: 'sys.ping', module: 'sys' }], capabilities: ['gpu'] });
    await expect(commands.submit({ node: nodeId, type: 'exec.run', payload: { command: 'true' } })).rejects.toMatchObject({ code: 'unknown_command_type' });
    const { command } = await commands.submit({ node: nodeId, type: 'sys.ping', payload: {} });
    await end.next('command.dispatch', (m) => m.command.id === command.id);
    // A malformed one is refused with the field named and changes nothing.
    end.send({ type: 'catalog.update', commandTypes: [{ type: 'sys.ping' }], modules: ['sys'] } as never);
    const bad = await end.next('error', (m) => m.code === 'invalid_message');
    expect(bad.message).toContain('commandTypes[0]');
    await beat(end);
    expect((await stored()).commandTypes).toEqual([{ type: 'sys.ping', module: 'sys', safeToRerun: true }]);
  });

  it('requires hello first, and closes on an unsupported protocol version (more in version-skew.test.ts)', async () => {
    const end = await memory.connect(credential);
    end.send(heartbeat());
    await end.next('error', (m) => m.code === 'hello_required');
    end.send(hello({ protocol: '2.0' }));
    await end.next('error', (m) => m.code === 'protocol_unsupported');
    await end.closed();
    expect(end.closedWith?.code).toBe(4002);
  });

  it('repairs a lost `started` from the heartbeat', async () => {
    const end = await connect();
    const { command } = await commands.submit({ node: nodeId, type: 'exec.run', payload: { command: 'sleep' } });
    await end.next('command.dispatch', (m) => m.command.id === command.id);
    await beat(end, [command.id]);
    expect((await getCommandRow(ctx.store.db, command.id))?.state).toBe('running');
  });

  it('stores the heartbeats of one moment in one statement, each node its own, then reconciles each', async () => {
    const ends: MemoryAgentEnd[] = [await connect({ fencing: true })];
    const ids = [nodeId];
    for (let i = 0; i < 4; i++) {
      const row = nodeRow({ status: 'offline' });
      const cred = makeCredential(row.id);
      await insertNode(ctx.store.db, { ...row, credential_hash: cred.hash });
      const end = await memory.connect(cred.credential);
      end.send(hello({ fencing: true }));
      await end.next('welcome');
      ends.push(end);
      ids.push(row.id);
    }
    const { command } = await commands.submit({ node: ids[2]!, type: 'exec.run', payload: { command: 'sleep' } });
    await ends[2]!.next('command.dispatch', (m) => m.command.id === command.id);
    const kinds: string[] = [];
    const stop = ctx.store.onQuery((t) => kinds.push(t.kind));
    clock.now += 5000;
    const seqs = ends.map((end, i) => {
      const beat = heartbeat(i === 2 ? [command.id] : []);
      end.send({ ...beat, stats: { ...stats, collectedAt: clock.now + i } });
      return beat.seq;
    });
    // The ack of each heartbeat goes out once it is stored.
    await Promise.all(ends.map((end, i) => end.next('heartbeat.ack', (m) => m.seq === seqs[i])));
    await waitFor('the heartbeat to repair the start', async () => (await getCommandRow(ctx.store.db, command.id))?.state === 'running');
    stop();
    // One write for the five heartbeats (a raw UPDATE … FROM VALUES), not an UPDATE each; the
    // updates seen are the repaired start's.
    expect(kinds.filter((k) => k === 'UpdateQueryNode').length).toBeLessThan(ends.length);
    for (const [i, id] of ids.entries()) {
      const row = (await getNodeRow(ctx.store.db, id))!;
      expect(row.last_seen_at).toBe(clock.now);
      expect(JSON.parse(row.stats!)).toMatchObject({ collectedAt: clock.now + i });
    }
  });

  it('redelivers a dispatch the agent never received, once it is past its in-flight window', async () => {
    const end = await connect();
    const { command } = await commands.submit({ node: nodeId, type: 'exec.run', payload: { command: 'true' } });
    await end.next('command.dispatch', (m) => m.command.id === command.id);
    // Within the window a heartbeat that lacks it is no proof of loss: nothing is resent.
    await beat(end);
    expect(end.received.filter((m) => m.type === 'command.dispatch')).toHaveLength(1);
    // Past the window (on both clocks the dispatcher reads), the next heartbeat repairs it.
    clock.now += IN_FLIGHT_MS * 3;
    const realNow = Date.now;
    Date.now = () => realNow() + IN_FLIGHT_MS * 3;
    try {
      await beat(end);
    } finally {
      Date.now = realNow;
    }
    clock.now += 1;
    const again = end.received.filter((m) => m.type === 'command.dispatch' && m.command.id === command.id);
    expect(again).toHaveLength(2);
    // Each delivery is signed afresh, for this node, and verifies under the key the welcome announced.
    const welcome = end.received.find((m) => m.type === 'welcome');
    const key = welcome?.type === 'welcome' ? welcome.signingKeys?.keys.find((k) => k.id === signer.keyId) : undefined;
    expect(key).toBeDefined();
    const [first, second] = again.map((m) => (m.type === 'command.dispatch' ? m : null)!);
    expect(second!.signature!.issuedAt).toBeGreaterThan(first!.signature!.issuedAt);
    for (const m of [first!, second!]) {
      const sig = m.signature!;
      expect(sig).toMatchObject({ keyId: signer.keyId, nodeId });
      const fields = commandFields({ nodeId, commandId: m.command.id, type: m.command.type, payload: m.command.payload, issuedAt: sig.issuedAt, expiresAt: sig.expiresAt, keyId: sig.keyId });
      expect(verifyFields(key!.publicKey, 'command', fields, sig.value)).toBe(true);
      expect(verifyFields(key!.publicKey, 'command', { ...fields, payloadSha256: 'x' }, sig.value)).toBe(false);
    }
  });

  it('acknowledges results the store already holds (a lost ack) and ids it never heard of', async () => {
    const end = await connect();
    const { command } = await commands.submit({ node: nodeId, type: 'exec.run', payload: { command: 'true' } });
    await end.next('command.dispatch', (m) => m.command.id === command.id);
    end.send({ type: 'command.result', commandId: command.id, state: 'succeeded', result: { exitCode: 0 }, startedAt: clock.now, finishedAt: clock.now });
    await end.next('result.ack', (m) => m.commandIds.includes(command.id));
    end.received.length = 0;
    // The ack was lost: the agent still holds the result, plus one for a command deleted since.
    end.send(heartbeat([], [command.id, 'cmd_gone0000000000000000']));
    const ack = await end.next('result.ack', (m) => m.commandIds.includes('cmd_gone0000000000000000'));
    expect(ack.commandIds.sort()).toEqual([command.id, 'cmd_gone0000000000000000'].sort());
    expect((await getCommandRow(ctx.store.db, command.id))?.state).toBe('succeeded');
  });

  it('sends cancel and config through the link, and disconnect closes the connection', async () => {
    const end = await connect();
    link.cancel(nodeId, 'cmd_x000000000000000000000');
    await end.next('command.cancel', (m) => m.commandId === 'cmd_x000000000000000000000');
    link.configure(nodeId, { heartbeatIntervalMs: 2000 });
    await end.next('config', (m) => m.heartbeatIntervalMs === 2000);
    link.disconnect(nodeId, 4003, 'node deleted');
    await end.closed();
    expect(end.closedWith).toEqual({ code: 4003, reason: 'node deleted' });
    await closeRecorded();
    expect(link.connected(nodeId)).toBe(false);
  });

  it('a newer connection of the same node replaces the older one', async () => {
    const first = await connect();
    const second = await connect();
    await first.closed();
    expect(first.closedWith?.code).toBe(4001);
    const { command } = await commands.submit({ node: nodeId, type: 'exec.run', payload: { command: 'true' } });
    await second.next('command.dispatch', (m) => m.command.id === command.id);
    expect(first.received.some((m) => m.type === 'command.dispatch')).toBe(false);
  });

  it('records a command the agent ran on its inbound API once, in the node history, and acks it', async () => {
    const end = await connect();
    const id = 'cmd_inbound0000000000000001';
    const report = {
      type: 'command.reported' as const,
      commandId: id,
      command: { type: 'exec.run', payload: { command: 'true' }, timeoutMs: 5000, receivedAt: clock.now - 20, via: 'inbound' as const, requestId: 'req-1' },
      state: 'succeeded' as const,
      result: { exitCode: 0 },
      startedAt: clock.now - 10,
      finishedAt: clock.now,
    };
    end.send(report);
    await end.next('result.ack', (m) => m.commandIds.includes(id));
    const row = await getCommandRow(ctx.store.db, id);
    expect(row).toMatchObject({ node_id: nodeId, type: 'exec.run', state: 'succeeded', request_id: `inbound:${nodeId}:req-1`, dispatched_at: null, deliveries: 0 });
    expect(JSON.parse(row!.result!)).toEqual({ exitCode: 0 });
    expect((await commands.list({ node: nodeId })).map((c) => c.id)).toContain(id);
    // A repeat (its ack was lost) changes nothing and is acknowledged again.
    end.send({ ...report, state: 'failed' });
    await end.next('result.ack', (m) => m.commandIds.includes(id));
    expect((await getCommandRow(ctx.store.db, id))?.state).toBe('succeeded');
    // An id the control plane gave another command is not taken over.
    const { command } = await commands.submit({ node: nodeId, type: 'exec.run', payload: { command: 'true' } });
    end.send({ ...report, commandId: command.id, command: { ...report.command, requestId: 'req-2' }, state: 'failed' });
    await end.next('result.ack', (m) => m.commandIds.includes(command.id));
    expect((await getCommandRow(ctx.store.db, command.id))?.state).not.toBe('failed');
    // Only ended commands are reported.
    end.send({ ...report, commandId: 'cmd_inbound0000000000000002', state: 'running' } as Record<string, unknown>);
    expect((await end.next('error', (m) => m.code === 'invalid_message')).message).toContain('state');
  });

  /** Waits until the link handled the close (the node's connection id is cleared). */
  async function closeRecorded(): Promise<void> {
    await waitFor('the link to record the close', async () => (await getNodeRow(ctx.store.db, nodeId))?.connection_id === null);
  }
});
