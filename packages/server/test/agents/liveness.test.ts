import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AGENT_PROTOCOL_VERSION, type HelloMessage } from '@steward/protocol';
import { Link } from '../../src/agents/link.js';
import { MemoryTransport } from '../../src/agents/transports/memory.js';
import type { Context } from '../../src/core/context.js';
import { CatalogCache } from '../../src/commands/catalogs.js';
import { PayloadChecker } from '../../src/commands/payload-check.js';
import { CommandService } from '../../src/commands/service.js';
import { CommandSigner } from '../../src/security/signing-key.js';
import { makeCredential } from '../../src/security/secrets.js';
import { getNodeRow, insertNode, markOnlineReconnecting } from '../../src/store/queries/nodes.js';
import { EMPTY_INVENTORY } from '../../src/store/rows.js';
import { RAW_STATS } from '../../../../test/support/raw-agent.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { nodeRow, T0 } from '../helpers/rows.js';
import { testContext } from '../helpers/context.js';

/**
 * Liveness after a control-plane restart (docs/reconnect.md): nodes online before it are
 * `reconnecting` (never `online` while not connected), turn online on their hello, and offline
 * only once the start-up guard passed; nodes that connected to this process are swept as before.
 */
const hello: HelloMessage = { type: 'hello', protocol: AGENT_PROTOCOL_VERSION, inventory: { ...EMPTY_INVENTORY, hostname: 'back-1' }, running: [], outbox: [] };

describe.each(storeTargets())('liveness after a restart on $name', (target) => {
  const fresh = useFreshStore(target);
  let clock: { now: number };
  let ctx: Context;
  let link: Link;
  let memory: MemoryTransport;

  beforeEach(async () => {
    clock = { now: T0 };
    ctx = testContext(fresh.store, clock);
    memory = new MemoryTransport();
    link = new Link(ctx, 'replica-test', CommandSigner.ephemeral()).use(memory);
    link.receive(new CommandService(ctx, link, new PayloadChecker(), new CatalogCache()));
    await link.install(null);
  });

  afterEach(async () => {
    await link.close();
  });

  it('marks nodes online before the restart reconnecting; a hello makes one online, the rest go offline only after the start-up guard', async () => {
    const back = nodeRow({ status: 'online', last_seen_at: T0 - 5000 });
    const away = nodeRow({ status: 'online', last_seen_at: T0 - 5000 });
    const off = nodeRow({ status: 'offline', last_seen_at: T0 - 600_000 });
    const cred = makeCredential(back.id);
    await insertNode(ctx.store.db, { ...back, credential_hash: cred.hash });
    await insertNode(ctx.store.db, away);
    await insertNode(ctx.store.db, off);
    expect(await markOnlineReconnecting(ctx.store.db, T0)).toBe(2);
    expect((await getNodeRow(ctx.store.db, away.id))?.status).toBe('reconnecting');
    expect((await getNodeRow(ctx.store.db, off.id))?.status).toBe('offline');

    const end = await memory.connect(cred.credential);
    end.send(hello);
    await end.next('welcome');
    expect((await getNodeRow(ctx.store.db, back.id))?.status).toBe('online');

    // Past the offline threshold but within the start-up guard: nothing is marked.
    // The node that came back keeps beating (an outbox id the store does not know is acked once the heartbeat was handled).
    let seq = 0;
    const beat = async () => {
      const marker = `cmd_marker${String(++seq).padStart(12, '0')}`;
      end.send({ type: 'heartbeat', seq, stats: RAW_STATS, running: [], outbox: [marker] });
      await end.next('result.ack', (m) => m.commandIds.includes(marker));
    };
    clock.now = T0 + ctx.settings.startupGuardMs - 1000;
    await beat();
    await link.sweep();
    expect((await getNodeRow(ctx.store.db, away.id))?.status).toBe('reconnecting');
    clock.now = T0 + ctx.settings.startupGuardMs;
    await beat();
    expect(await link.sweep()).toBe(1);
    expect((await getNodeRow(ctx.store.db, away.id))?.status).toBe('offline');
    expect((await getNodeRow(ctx.store.db, back.id))?.status).toBe('online');
  });

  it('holds the start-up guard while agents are being told to wait (503 agents_busy), and a whole guard after the last refusal', async () => {
    const away = nodeRow({ status: 'online', last_seen_at: T0 - 5000 });
    await insertNode(ctx.store.db, away);
    expect(await markOnlineReconnecting(ctx.store.db, T0)).toBe(1);
    const reasons: string[] = [];
    ctx.bus.subscribe(({ event }) => void (event.kind === 'node.status' && event.nodeId === away.id && reasons.push(event.reason)));
    // A storm late in the guard: handshakes are admitted until the rate or the in-progress cap refuses one.
    const refusedAt = T0 + ctx.settings.startupGuardMs - 5000;
    clock.now = refusedAt;
    const tickets: { release(): void }[] = [];
    let verdict = link.host.offer();
    for (let i = 0; 'ticket' in verdict && i < 100_000; i++) {
      tickets.push(verdict.ticket);
      verdict = link.host.offer();
    }
    expect(verdict).toMatchObject({ reason: expect.stringMatching(/^(rate|in_progress)$/) });
    for (const t of tickets) t.release();

    // Past the 90 s from the start, within 90 s of the refusal: still on its way back.
    clock.now = T0 + ctx.settings.startupGuardMs + 1000;
    expect(await link.sweep()).toBe(0);
    clock.now = refusedAt + ctx.settings.startupGuardMs - 1;
    expect(await link.sweep()).toBe(0);
    expect((await getNodeRow(ctx.store.db, away.id))?.status).toBe('reconnecting');
    // The storm is over and it never came: offline, and the reason says which guard ran out.
    clock.now = refusedAt + ctx.settings.startupGuardMs;
    expect(await link.sweep()).toBe(1);
    expect((await getNodeRow(ctx.store.db, away.id))?.status).toBe('offline');
    expect(reasons).toEqual([`not back ${ctx.settings.startupGuardMs / 1000}s after the last agent was asked to wait (503 agents_busy)`]);
  });

  it('after the store did not answer a sweep, silence counts from its return: no node goes offline for heartbeats it could not store', async () => {
    const { offlineAfterMs, startupGuardMs } = ctx.settings;
    const start = T0 + startupGuardMs + 1000;
    const n = nodeRow({ status: 'online', last_seen_at: start, connection_id: 'conn-elsewhere' });
    await insertNode(ctx.store.db, n);
    // The store is down for a sweep (a PostgreSQL restart): the sweep fails with a connection error.
    clock.now = start + 1000;
    const down = vi.spyOn(ctx.store.db, 'selectFrom').mockImplementationOnce(() => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    });
    await expect(link.sweep()).rejects.toThrow(/ECONNREFUSED/);
    down.mockRestore();
    // Back well past the offline threshold since the last stored heartbeat: not silent yet.
    clock.now = start + 3 * offlineAfterMs;
    expect(await link.sweep()).toBe(0);
    clock.now += offlineAfterMs - 1;
    expect(await link.sweep()).toBe(0);
    expect((await getNodeRow(ctx.store.db, n.id))?.status).toBe('online');
    // Still no heartbeat a threshold after the store's return: offline as ever.
    clock.now += 1;
    expect(await link.sweep()).toBe(1);
    expect((await getNodeRow(ctx.store.db, n.id))?.status).toBe('offline');
  });
});
