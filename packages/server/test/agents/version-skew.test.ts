import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL_VERSION, PROTOCOL_UNSUPPORTED, PROTOCOL_UNSUPPORTED_CLOSE, type HelloMessage, type StewardEvent } from '@steward/protocol';
import { AgentConfigService } from '../../src/agent-config/service.js';
import { Link } from '../../src/agents/link.js';
import { MemoryTransport, type MemoryAgentEnd } from '../../src/agents/transports/memory.js';
import { CatalogCache } from '../../src/commands/catalogs.js';
import { PayloadChecker } from '../../src/commands/payload-check.js';
import { CommandService } from '../../src/commands/service.js';
import type { Context } from '../../src/core/context.js';
import { nodeFromRow } from '../../src/nodes/rows.js';
import { makeCredential } from '../../src/security/secrets.js';
import { CommandSigner } from '../../src/security/signing-key.js';
import { upsertConfigDocument } from '../../src/store/queries/agent-config.js';
import { getNodeRow, insertNode } from '../../src/store/queries/nodes.js';
import { EMPTY_INVENTORY } from '../../src/store/rows.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { testContext } from '../helpers/context.js';
import { nodeRow, T0 } from '../helpers/rows.js';
import { RAW_STATS } from '../../../../test/support/raw-agent.js';
import { waitFor } from '../../../../test/support/wait.js';

/**
 * The version-skew rule on the agent link (memory transport, real session, gateway and config
 * push, both databases): which hellos are served, what a refused one is told and what its node
 * shows, and that an agent one minor older is not sent the message types it does not know.
 */

const hello = (protocol: HelloMessage['protocol']): HelloMessage => ({ type: 'hello', protocol, inventory: EMPTY_INVENTORY, running: [], outbox: [] });
const stats = { ...RAW_STATS, collectedAt: T0 };

describe.each(storeTargets())('protocol version skew on $name', (target) => {
  const fresh = useFreshStore(target);
  let ctx: Context;
  let link: Link;
  let memory: MemoryTransport;
  let nodeId: string;
  let credential: string;
  const now = T0 + 3_600_000;

  beforeEach(async () => {
    ctx = testContext(fresh.store, { now });
    memory = new MemoryTransport();
    link = new Link(ctx, 'replica-test', CommandSigner.ephemeral()).use(memory);
    link.receive(new CommandService(ctx, link, new PayloadChecker(), new CatalogCache()));
    await link.install(null);
    link.serveConfig(new AgentConfigService(ctx, link));
    await upsertConfigDocument(ctx.store.db, { name: 'base', target: '{"all":true}', priority: 0, config: '{"logLevel":"warn"}', updated_at: T0, updated_by: 't' });
    const row = nodeRow({ status: 'offline' });
    const cred = makeCredential(row.id);
    await insertNode(ctx.store.db, { ...row, credential_hash: cred.hash });
    nodeId = row.id;
    credential = cred.credential;
  });

  afterEach(async () => {
    await link.close();
  });

  let seq = 0;
  /** A heartbeat whose handling is seen: an outbox id the store never heard of is acked at its end. */
  async function beat(end: MemoryAgentEnd): Promise<void> {
    const marker = `cmd_marker${String(seq++).padStart(12, '0')}`;
    end.send({ type: 'heartbeat', seq, stats, running: [], outbox: [marker] });
    await end.next('result.ack', (m) => m.commandIds.includes(marker));
  }

  async function refusals(verdict: string): Promise<number> {
    const metric = await ctx.metrics.registry.getSingleMetric('steward_agent_protocol_refused_total')?.get();
    return metric?.values.find((v) => v.labels.verdict === verdict)?.value ?? 0;
  }

  it.each([
    { said: '1.3', verdict: 'agent_too_new', advice: 'upgrade the control plane' },
    { said: '0.9', verdict: 'agent_too_old', advice: 'upgrade the agent' },
  ])('refuses protocol $said ($verdict) with a clear error and close code, and the node list shows it', async ({ said, verdict, advice }) => {
    const end = await memory.connect(credential);
    // A hello of another version may have another shape: the version alone decides.
    end.send({ type: 'hello', protocol: said, somethingNew: { shape: true } } as never);
    const error = await end.next('error', (m) => m.code === PROTOCOL_UNSUPPORTED);
    expect(error.message).toContain(`agent protocol ${said}`);
    expect(error.message).toContain(`(protocol ${AGENT_PROTOCOL_VERSION}`);
    expect(error.message).toContain(advice);
    expect(error.details).toEqual({ agentProtocol: said, serverProtocol: AGENT_PROTOCOL_VERSION, verdict });
    await end.closed();
    expect(end.closedWith?.code).toBe(PROTOCOL_UNSUPPORTED_CLOSE);
    expect(end.received.map((m) => m.type)).toEqual(['error']);
    expect(end.received.filter((m) => m.type === 'error' && m.code === 'invalid_message')).toEqual([]);
    // Counted once stored: the positive marker that the refusal was handled.
    await waitFor('the refusal counted', async () => (await refusals(verdict)) === 1);
    const row = await getNodeRow(ctx.store.db, nodeId);
    expect(row?.status).toBe('offline');
    expect(nodeFromRow(row!).versionSkew).toEqual({ agentProtocol: said, serverProtocol: AGENT_PROTOCOL_VERSION, verdict, at: now });
    expect(link.connected(nodeId)).toBe(false);
  });

  it('tells the event stream once per refused version, not on every retry', async () => {
    const seen: StewardEvent[] = [];
    ctx.bus.subscribe(({ event }) => void (event.kind === 'node.changed' && seen.push(event)));
    for (const [i, said] of ['1.3', '1.3', '1.4'].entries()) {
      const end = await memory.connect(credential);
      end.send(hello(said));
      await end.closed();
      // Each refusal handled before the next connects: counted after it was stored and told.
      await waitFor(`refusal ${i + 1} counted`, async () => (await refusals('agent_too_new')) === i + 1);
    }
    // Events arrive in order: one from the repeated 1.3 would come before the one for 1.4.
    await waitFor('the event for 1.4', () => seen.length >= 2);
    expect(seen).toMatchObject([
      { kind: 'node.changed', nodeId, change: 'updated' },
      { kind: 'node.changed', nodeId, change: 'updated' },
    ]);
  });

  it('an unreadable version is a validation error that names the field, not a refusal', async () => {
    const end = await memory.connect(credential);
    end.send({ ...hello('one'), protocol: 'one' } as never);
    const error = await end.next('error');
    expect(error.code).toBe('invalid_message');
    expect(error.message).toContain('protocol');
    expect(end.closedWith).toBeNull();
    expect((await getNodeRow(ctx.store.db, nodeId))?.version_skew ?? null).toBeNull();
  });

  it('serves an agent one minor older (the integer 1 = 1.0) without the messages it does not know, and clears an earlier refusal', async () => {
    const refused = await memory.connect(credential);
    refused.send(hello('2.0'));
    await refused.closed();
    await waitFor('the refusal counted', async () => (await refusals('agent_too_new')) === 1);
    expect((await getNodeRow(ctx.store.db, nodeId))?.version_skew).not.toBeNull();

    const end = await memory.connect(credential);
    end.send(hello(1));
    await end.next('welcome');
    await beat(end);
    // config.desired came with 1.1: an agent speaking 1.0 would refuse it.
    expect(end.received.map((m) => m.type)).not.toContain('config.desired');
    expect(end.received.filter((m) => m.type === 'error')).toEqual([]);
    const row = await getNodeRow(ctx.store.db, nodeId);
    expect(row?.status).toBe('online');
    expect(nodeFromRow(row!).versionSkew).toBeNull();
  });

  it.each(['1.2', AGENT_PROTOCOL_VERSION])('serves an agent speaking %s, with config.desired', async (said) => {
    const end = await memory.connect(credential);
    end.send(hello(said));
    await end.next('welcome');
    await end.next('config.desired');
    await beat(end);
    expect(end.received.filter((m) => m.type === 'error')).toEqual([]);
    expect((await getNodeRow(ctx.store.db, nodeId))?.status).toBe('online');
  });
});
