import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Type, type Stats } from '@steward/protocol';
import { Link } from '../../src/agents/link.js';
import { CommandSigner } from '../../src/security/signing-key.js';
import { ProxiedAgent } from '../../src/agents/transports/proxied-agent.js';
import { CatalogCache } from '../../src/commands/catalogs.js';
import { PayloadChecker } from '../../src/commands/payload-check.js';
import { CommandService } from '../../src/commands/service.js';
import type { Context } from '../../src/core/context.js';
import { getCommandRow } from '../../src/store/queries/commands.js';
import { getNodeRow, insertNode } from '../../src/store/queries/nodes.js';
import { EMPTY_INVENTORY } from '../../src/store/rows.js';
import { waitFor } from '../../../../test/support/wait.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { nodeRow, T0 } from '../helpers/rows.js';
import { testContext } from '../helpers/context.js';

/**
 * A seed-protocol device as the link sees it: the ProxiedAgent says hello, beats, takes and
 * finishes commands through the real session, gateway and command pipeline on a real store.
 */

const inventory = {
  ...EMPTY_INVENTORY,
  hostname: 'phone-1',
  commandTypes: [{ type: 'demo.job', module: 'demo', safeToRerun: false }],
};

const stats: Stats = {
  collectedAt: T0,
  cpu: { usagePercent: 3, cores: 4 },
  load: [0, 0, 0],
  memory: { totalBytes: 2, availableBytes: 1, usedBytes: 1 },
  disks: [],
  network: [],
  uptimeSeconds: 10,
  agentUptimeSeconds: 10,
};

describe.each(storeTargets())('a proxied seed-protocol device on $name', (target) => {
  const fresh = useFreshStore(target);
  let ctx: Context;
  let link: Link;
  let commands: CommandService;
  let nodeId: string;
  const errors: string[] = [];

  beforeEach(async () => {
    ctx = testContext(fresh.store, { now: T0 + 3_600_000 });
    link = new Link(ctx, 'replica-test', CommandSigner.ephemeral());
    commands = new CommandService(ctx, link, new PayloadChecker(), new CatalogCache());
    link.receive(commands);
    const row = nodeRow({ status: 'offline', protocol: 'retire-cluster', external_id: 'phone-1' });
    await insertNode(ctx.store.db, row);
    nodeId = row.id;
    errors.length = 0;
  });

  afterEach(async () => {
    await link.close();
  });

  async function attach(silenceMs = 60_000): Promise<ProxiedAgent> {
    const dev = new ProxiedAgent({ silenceMs, onError: (code, message) => errors.push(`${code}: ${message}`) });
    link.host.attach(nodeId, dev);
    const welcome = await dev.hello(inventory);
    expect(welcome.nodeId).toBe(nodeId);
    return dev;
  }

  it('is welcomed, marked online, and runs a command it pulls exactly once', async () => {
    const dev = await attach();
    expect(link.connected(nodeId)).toBe(true);
    expect((await getNodeRow(ctx.store.db, nodeId))?.status).toBe('online');
    const { command } = await commands.submit({ node: nodeId, type: 'demo.job', payload: { n: 1 } });
    const taken = await waitFor('the dispatch to reach the queue', () => dev.next());
    expect(taken.id).toBe(command.id);
    expect(dev.next()).toBeUndefined();
    await waitFor('running', async () => (await getCommandRow(ctx.store.db, command.id))?.state === 'running');
    dev.finish(command.id, { state: 'succeeded', result: { answer: 42 } });
    const row = await waitFor('stored', async () => {
      const r = await getCommandRow(ctx.store.db, command.id);
      return r?.state === 'succeeded' && r;
    });
    expect(JSON.parse(row.result!)).toEqual({ answer: 42 });
    expect(errors).toEqual([]);
  });

  it('refuses at submission a command type its protocol cannot carry', async () => {
    await attach();
    const refused = commands.submit({ node: nodeId, type: 'exec.run', payload: { command: 'true' } });
    await expect(refused).rejects.toMatchObject({ code: 'unknown_command_type', status: 400 });
    await expect(refused).rejects.toThrow(/\(a retire-cluster device\) does not offer command type "exec.run"; it offers demo.job/);
  });

  it('ends a queued command cancelled at once, and marks a running one for the device', async () => {
    const dev = await attach();
    const a = (await commands.submit({ node: nodeId, type: 'demo.job', payload: { n: 1 } })).command;
    const b = (await commands.submit({ node: nodeId, type: 'demo.job', payload: { n: 2 } })).command;
    const first = await waitFor('a dispatched', () => dev.next((c) => c.id === a.id));
    await waitFor('b dispatched to the queue', async () => (await getCommandRow(ctx.store.db, b.id))?.state === 'dispatched');
    await commands.cancel(first.id);
    await waitFor('a marked cancelled for the device', () => dev.wasCancelled(a.id));
    await commands.cancel(b.id);
    await waitFor('b cancelled', async () => (await getCommandRow(ctx.store.db, b.id))?.state === 'cancelled');
  });

  it('goes offline-bound (disconnected) when the device falls silent, and a late result is still stored', async () => {
    const dev = await attach(300);
    const { command } = await commands.submit({ node: nodeId, type: 'demo.job', payload: { n: 1 } });
    await waitFor('taken', () => dev.next());
    await waitFor('disconnected after silence', async () => !link.connected(nodeId) && (await getNodeRow(ctx.store.db, nodeId))?.connection_id === null);
    expect(dev.isOpen).toBe(false);
    // The device comes back with its result on a new connection.
    const back = await attach();
    back.finish(command.id, { state: 'failed', error: { code: 'task_failed', message: 'exit 3' } });
    await waitFor('stored', async () => (await getCommandRow(ctx.store.db, command.id))?.state === 'failed');
  });

  it('rejects the hello of an invalid inventory instead of hanging', async () => {
    const dev = new ProxiedAgent({ silenceMs: 60_000 });
    link.host.attach(nodeId, dev);
    await expect(dev.hello({ ...inventory, cpuCores: -1 })).rejects.toThrow(/refused the device's hello: invalid_message/);
  });

  it('carries module reports in its heartbeat, handled once the session settles', async () => {
    const seen: unknown[] = [];
    link.modules.register('probe', { report: async (_node, report) => void seen.push(report) });
    const dev = new ProxiedAgent({ silenceMs: 60_000 });
    const session = link.host.attach(nodeId, dev);
    await dev.hello(inventory);
    dev.heartbeat(stats, { probe: { n: 1 } });
    await session.settled();
    expect(seen).toEqual([{ n: 1 }]);
  });

  it('takes its heartbeat stats into the node', async () => {
    const dev = await attach();
    dev.heartbeat(stats);
    await waitFor('stats stored', async () => JSON.parse((await getNodeRow(ctx.store.db, nodeId))?.stats ?? 'null')?.cpu?.cores === 4);
  });

  it('carries module reports on its hello and heartbeats, and module events, to the module handlers', async () => {
    const seen: string[] = [];
    link.modules.register('probe', {
      async report(_node, report) {
        seen.push(`report ${JSON.stringify(report)}`);
      },
      eventSchemas: { noticed: Type.Object({ what: Type.String() }) },
      async event(_node, event, data) {
        seen.push(`event ${event} ${JSON.stringify(data)}`);
      },
    });
    const dev = new ProxiedAgent({ silenceMs: 60_000 });
    link.host.attach(nodeId, dev);
    await dev.hello(inventory, { probe: { n: 1 } });
    await waitFor('the hello report', () => seen.includes('report {"n":1}'));
    dev.event('probe', 'noticed', { what: 'x' });
    dev.heartbeat(stats, { probe: { n: 2 } });
    await waitFor('the heartbeat report', () => seen.includes('report {"n":2}'));
    // The session handles one connection's messages in order: the event came first.
    expect(seen).toEqual(['report {"n":1}', 'event noticed {"what":"x"}', 'report {"n":2}']);
  });
});
