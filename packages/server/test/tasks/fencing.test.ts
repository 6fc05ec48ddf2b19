import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL_VERSION, type HelloMessage } from '@steward/protocol';
import { Link } from '../../src/agents/link.js';
import { MemoryTransport } from '../../src/agents/transports/memory.js';
import type { Context } from '../../src/core/context.js';
import { CatalogCache } from '../../src/commands/catalogs.js';
import { PayloadChecker } from '../../src/commands/payload-check.js';
import { CommandService } from '../../src/commands/service.js';
import { CommandSigner } from '../../src/security/signing-key.js';
import { makeCredential } from '../../src/security/secrets.js';
import { getNodeRow, insertNode } from '../../src/store/queries/nodes.js';
import { EMPTY_INVENTORY } from '../../src/store/rows.js';
import { endFromCommand } from '../../src/tasks/outcome.js';
import { fenceWaitMs, taskFence } from '../../src/core/task-fence.js';
import { RAW_STATS } from '../../../../test/support/raw-agent.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { nodeRow, T0 } from '../helpers/rows.js';
import { testContext } from '../helpers/context.js';

const hello = (fencing?: boolean, protocol: HelloMessage['protocol'] = AGENT_PROTOCOL_VERSION): HelloMessage => ({
  type: 'hello',
  protocol,
  inventory: { ...EMPTY_INVENTORY, hostname: 'fence-1' },
  running: [],
  outbox: [],
  ...(fencing === undefined ? {} : { fencing }),
});

describe('task fencing numbers', () => {
  it('the fence is the offline threshold or three heartbeats, whichever is longer; the wait adds the kill grace and the margin', () => {
    expect(taskFence({ offlineAfterMs: 45_000 }, 15_000, {})).toEqual({ afterMs: 45_000, killGraceMs: 2000, marginMs: 5000 });
    expect(taskFence({ offlineAfterMs: 45_000 }, 60_000, {})).toMatchObject({ afterMs: 180_000 });
    const f = taskFence({ offlineAfterMs: 3000 }, 500, { STEWARD_TASK_FENCE_KILL_GRACE_MS: '1000', STEWARD_TASK_FENCE_MARGIN_MS: '0' });
    expect(f).toEqual({ afterMs: 3000, killGraceMs: 1000, marginMs: 0 });
    expect(fenceWaitMs(f)).toBe(4000);
    expect(() => taskFence({ offlineAfterMs: 3000 }, 500, { STEWARD_TASK_FENCE_MARGIN_MS: '-1' })).toThrow(/STEWARD_TASK_FENCE_MARGIN_MS/);
  });

  it('an attempt the agent fenced is a node loss: the task is placed again without using a retry', () => {
    expect(endFromCommand('failed', { exitCode: null, signal: 'SIGTERM' }, { code: 'fenced', message: 'stopped by fencing' }, false)).toMatchObject({ state: 'lost', nodeLoss: true });
    expect(endFromCommand('failed', null, { code: 'nonzero_exit', message: 'exit 1' }, false)).toMatchObject({ state: 'failed', nodeLoss: false });
  });
});

describe.each(storeTargets())('task fencing on the agent link on $name', (target) => {
  const fresh = useFreshStore(target);
  let ctx: Context;
  let link: Link;
  let memory: MemoryTransport;

  beforeEach(async () => {
    ctx = testContext(fresh.store, { now: T0 });
    memory = new MemoryTransport();
    link = new Link(ctx, 'replica-test', CommandSigner.ephemeral()).use(memory);
    link.receive(new CommandService(ctx, link, new PayloadChecker(), new CatalogCache()));
    await link.install(null);
  });

  afterEach(async () => {
    await link.close();
  });

  async function connect(fencing?: boolean, protocol?: HelloMessage['protocol']) {
    const n = nodeRow({ status: 'offline', last_seen_at: T0 - 60_000 });
    const cred = makeCredential(n.id);
    await insertNode(ctx.store.db, { ...n, credential_hash: cred.hash });
    const end = await memory.connect(cred.credential);
    end.send(hello(fencing, protocol));
    const welcome = await end.next('welcome');
    // A heartbeat, handled once its outbox marker (unknown to the store) is acknowledged.
    const beat = async (seq: number) => {
      const marker = `cmd_marker${String(seq).padStart(12, '0')}`;
      end.send({ type: 'heartbeat', seq, stats: RAW_STATS, running: [], outbox: [marker] });
      await end.next('result.ack', (m) => m.commandIds.includes(marker));
    };
    return { node: n, end, welcome, beat };
  }

  it('an agent that fences gets the fence in its welcome and an ack of each stored heartbeat', async () => {
    const { node, end, welcome, beat } = await connect(true);
    expect(welcome).toMatchObject({ fence: taskFence(ctx.settings, node.heartbeat_interval_ms) });
    await beat(7);
    expect(end.received.filter((m) => m.type === 'heartbeat.ack')).toEqual([{ type: 'heartbeat.ack', seq: 7 }]);
    // Acknowledged once stored: the node's last-seen time is the heartbeat's receipt.
    expect((await getNodeRow(ctx.store.db, node.id))?.last_seen_at).toBe(T0);
  });

  it('an agent without fencing (an older one) gets neither the fence nor acks', async () => {
    const { end, welcome, beat } = await connect();
    expect(welcome).not.toHaveProperty('fence');
    await beat(1);
    expect(end.received.map((m) => m.type)).not.toContain('heartbeat.ack');
  });

  it('an agent claiming protocol 1.0 gets no fence even if it asks: it could not be sent the acks', async () => {
    const { end, welcome, beat } = await connect(true, 1);
    expect(welcome).not.toHaveProperty('fence');
    await beat(1);
    expect(end.received.map((m) => m.type)).not.toContain('heartbeat.ack');
  });
});
