import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL_VERSION, type HelloMessage } from '@steward/protocol';
import { configRevision } from '@steward/protocol/node';
import { AgentConfigService } from '../../src/agent-config/service.js';
import { Link } from '../../src/agents/link.js';
import { MemoryTransport, type MemoryAgentEnd } from '../../src/agents/transports/memory.js';
import { CatalogCache } from '../../src/commands/catalogs.js';
import { PayloadChecker } from '../../src/commands/payload-check.js';
import { CommandService } from '../../src/commands/service.js';
import type { Context } from '../../src/core/context.js';
import { makeCredential } from '../../src/security/secrets.js';
import { CommandSigner } from '../../src/security/signing-key.js';
import { getNodeConfigStatus, upsertConfigDocument } from '../../src/store/queries/agent-config.js';
import { insertNode } from '../../src/store/queries/nodes.js';
import { EMPTY_INVENTORY, toJson } from '../../src/store/rows.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { testContext } from '../helpers/context.js';
import { nodeRow, T0 } from '../helpers/rows.js';
import { RAW_STATS } from '../../../../test/support/raw-agent.js';

/**
 * The push path on the agent link (memory transport, real session and gateway, both databases):
 * what is sent after welcome, what a re-check pushes, and to whom.
 */

const stats = { ...RAW_STATS, collectedAt: T0 };
const hello: HelloMessage = { type: 'hello', protocol: AGENT_PROTOCOL_VERSION, inventory: EMPTY_INVENTORY, running: [], outbox: [] };

describe.each(storeTargets())('pushing desired config over the agent link on $name', (target) => {
  const fresh = useFreshStore(target);
  let ctx: Context;
  let link: Link;
  let memory: MemoryTransport;
  let configs: AgentConfigService;

  beforeEach(async () => {
    ctx = testContext(fresh.store, { now: T0 + 3_600_000 });
    memory = new MemoryTransport();
    link = new Link(ctx, 'replica-test', CommandSigner.ephemeral()).use(memory);
    link.receive(new CommandService(ctx, link, new PayloadChecker(), new CatalogCache()));
    await link.install(null);
    configs = new AgentConfigService(ctx, link);
    link.serveConfig(configs);
  });

  afterEach(async () => {
    await link.close();
  });

  async function node(labels: Record<string, string> = {}, protocol = 'steward'): Promise<{ id: string; credential: string }> {
    const row = nodeRow({ status: 'offline', labels: toJson(labels), protocol });
    const cred = makeCredential(row.id);
    await insertNode(ctx.store.db, { ...row, credential_hash: cred.hash });
    return { id: row.id, credential: cred.credential };
  }

  let seq = 0;
  /** A heartbeat whose handling is seen: an outbox id the store never heard of is acked at its end. */
  async function beat(end: MemoryAgentEnd): Promise<void> {
    const marker = `cmd_marker${String(seq++).padStart(12, '0')}`;
    end.send({ type: 'heartbeat', seq, stats, running: [], outbox: [marker] });
    await end.next('result.ack', (m) => m.commandIds.includes(marker));
  }

  it('sends config.desired between welcome and anything else, and takes a heartbeat sent the moment welcome arrives', async () => {
    await upsertConfigDocument(ctx.store.db, { name: 'base', target: '{"all":true}', priority: 0, config: '{"logLevel":"warn"}', updated_at: T0, updated_by: 't' });
    const n = await node();
    const end = await memory.connect(n.credential);
    end.send(hello);
    await end.next('welcome');
    // At once, as the agent does (its first heartbeat goes out on welcome).
    await beat(end);
    expect(end.received.map((m) => m.type).slice(0, 2)).toEqual(['welcome', 'config.desired']);
    expect(end.received[1]).toEqual({ type: 'config.desired', revision: configRevision({ logLevel: 'warn' }), config: { logLevel: 'warn' } });
    expect(end.received.filter((m) => m.type === 'error')).toEqual([]);
    expect(await getNodeConfigStatus(ctx.store.db, n.id)).toMatchObject({ desired_revision: configRevision({ logLevel: 'warn' }), state: null });
  });

  it('a re-check pushes only to the nodes held here whose effective revision changed (the repair for a lost relay message)', async () => {
    const [web, db] = [await node({ role: 'web' }), await node({ role: 'db' })];
    const away = await node({ role: 'web' }); // enrolled, not connected here
    const webEnd = await memory.connect(web.credential);
    const dbEnd = await memory.connect(db.credential);
    for (const end of [webEnd, dbEnd]) {
      end.send(hello);
      await end.next('config.desired');
      // The revision sent is recorded once it went out; a heartbeat handled after the hello marks that done.
      await beat(end);
    }
    expect(await configs.resync()).toBe(0);
    // Written without an event, as when the relay lost the other replica's message.
    await upsertConfigDocument(ctx.store.db, { name: 'web', target: '{"selector":"role=web"}', priority: 0, config: '{"logLevel":"debug"}', updated_at: T0, updated_by: 't' });
    expect(await configs.resync()).toBe(1);
    const pushed = await webEnd.next('config.desired', (m) => m.config.logLevel === 'debug');
    expect(pushed.revision).toBe(configRevision({ logLevel: 'debug' }));
    await beat(dbEnd);
    expect(dbEnd.received.filter((m) => m.type === 'config.desired')).toHaveLength(1);
    expect(await getNodeConfigStatus(ctx.store.db, away.id)).toBeUndefined();
    expect(await configs.resync()).toBe(0);
  });

  it('sends nothing to a seed-protocol device', async () => {
    await upsertConfigDocument(ctx.store.db, { name: 'base', target: '{"all":true}', priority: 0, config: '{"logLevel":"warn"}', updated_at: T0, updated_by: 't' });
    const n = await node({}, 'retire-cluster');
    const end = await memory.connect(n.credential);
    end.send(hello);
    await end.next('welcome');
    await beat(end);
    expect(end.received.filter((m) => m.type === 'config.desired')).toEqual([]);
    expect(await configs.resync()).toBe(0);
  });
});
