import type { KyselyPlugin } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import type { BackupXHeartbeat } from '@steward/protocol';
import { inventoryFromHeartbeat } from '../../src/agents/transports/backupx/inventory.js';
import { BackupXIdentity } from '../../src/compat/backupx/identity.js';
import type { Context } from '../../src/core/context.js';
import { EnrollmentService } from '../../src/enrollment/service.js';
import { findAdmission } from '../../src/store/queries/admissions.js';
import { getEnrollmentToken } from '../../src/store/queries/enrollment.js';
import { deleteNodeRow, listNodeRows } from '../../src/store/queries/nodes.js';
import { Store } from '../../src/store/store.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { T0 } from '../helpers/rows.js';
import { testContext } from '../helpers/context.js';

/** Who a BackupX agent's X-Agent-Token is, on both stores: enrollment on the first heartbeat, the node after. */

const heartbeat: BackupXHeartbeat = { hostname: 'nas-01', ipAddress: '10.0.0.5', agentVersion: 'v1.4.0', os: 'linux', arch: 'arm64' };
const joining = (hb: BackupXHeartbeat = heartbeat) => ({ heartbeat: hb, source: '127.0.0.1', inventory: inventoryFromHeartbeat(hb, '127.0.0.1') });

describe.each(storeTargets())('BackupX agent identity on $name', (target) => {
  const fresh = useFreshStore(target);
  const clock = { now: T0 };
  let ctx: Context;
  let identity: BackupXIdentity;
  let enrollment: EnrollmentService;

  beforeEach(() => {
    clock.now = T0;
    ctx = testContext(fresh.store, clock);
    identity = new BackupXIdentity(ctx);
    enrollment = new EnrollmentService(ctx);
  });

  it('enrolls on the first heartbeat (one use, the token labels) and is that node afterwards, even once the token expired or is gone', async () => {
    const { id, token } = await enrollment.create({ uses: 3, labels: { team: 'backup' }, ttlSeconds: 60 });
    const node = await identity.resolve(token, joining());
    expect(node).toMatchObject({ name: 'nas-01', protocol: 'backupx', external_id: id, heartbeat_interval_ms: 15_000, labels: '{"team":"backup"}' });
    expect(JSON.parse(node.inventory)).toMatchObject({ hostname: 'nas-01', addresses: ['10.0.0.5'], arch: 'arm64', commandTypes: [{ type: 'fs.list' }] });
    expect((await getEnrollmentToken(ctx.store.db, id))!.uses).toBe(1);
    // The secret is kept hashed, as enrollment keeps it; the admission record names the token, not the secret.
    expect(node.credential_hash).toBe((await getEnrollmentToken(ctx.store.db, id))!.token_hash);
    expect(await findAdmission(ctx.store.db, 'backupx', id)).toMatchObject({ state: 'approved', node_id: node.id, decided_by: `enrollment:${id}` });

    expect((await identity.resolve(token, joining())).id).toBe(node.id);
    expect((await identity.resolve(token)).id).toBe(node.id);
    expect((await getEnrollmentToken(ctx.store.db, id))!.uses).toBe(1);

    clock.now = T0 + 120_000; // the token expired: the node it made keeps working
    expect((await identity.resolve(token)).id).toBe(node.id);
    await enrollment.remove(id);
    expect((await identity.resolve(token, joining())).id).toBe(node.id);
    expect(await listNodeRows(ctx.store.db)).toHaveLength(1);
  });

  it('refuses a wrong secret, a malformed token, a poll before any heartbeat, and spent or expired tokens', async () => {
    const { id, token } = await enrollment.create({ uses: 1 });
    const wrong = `${id}.not-the-secret`;
    await expect(identity.resolve(wrong, joining())).rejects.toMatchObject({ code: 'NODE_INVALID_TOKEN', status: 401 });
    await expect(identity.resolve('garbage', joining())).rejects.toMatchObject({ code: 'NODE_INVALID_TOKEN' });
    await expect(identity.resolve(token)).rejects.toMatchObject({ code: 'NODE_INVALID_TOKEN', message: expect.stringMatching(/heartbeat/) });
    expect((await getEnrollmentToken(ctx.store.db, id))!.uses).toBe(0);
    await identity.resolve(token, joining());
    await expect(identity.resolve(wrong)).rejects.toMatchObject({ code: 'NODE_INVALID_TOKEN' });

    const expiring = await enrollment.create({ ttlSeconds: 1 });
    clock.now = T0 + 2000;
    await expect(identity.resolve(expiring.token, joining())).rejects.toMatchObject({ code: 'ENROLLMENT_TOKEN_EXPIRED', status: 401 });
    expect(await listNodeRows(ctx.store.db)).toHaveLength(1);
  });

  it('refuses the token of a deleted node for good, even with uses left', async () => {
    const { token } = await enrollment.create({ uses: 5 });
    const node = await identity.resolve(token, joining());
    await deleteNodeRow(ctx.store.db, node.id);
    await expect(identity.resolve(token, joining())).rejects.toMatchObject({ code: 'NODE_DELETED', status: 401 });
    await expect(identity.resolve(token)).rejects.toMatchObject({ code: 'NODE_DELETED' });
    expect(await listNodeRows(ctx.store.db)).toHaveLength(0);
  });

  it('makes one node of two first heartbeats at once, spending one use', async () => {
    const { id, token } = await enrollment.create({ uses: 4 });
    const [a, b] = await Promise.all([identity.resolve(token, joining()), identity.resolve(token, joining({ ...heartbeat, hostname: 'other' }))]);
    expect(a.id).toBe(b.id);
    expect(await listNodeRows(ctx.store.db)).toHaveLength(1);
    expect((await getEnrollmentToken(ctx.store.db, id))!.uses).toBe(1);
  });

  it('never calls a node deleted when a concurrent first heartbeat makes it between its two reads', async () => {
    // B reads "no node", then A makes the node and its admission (one transaction), then B reads
    // the admission: B must find A's node, not refuse the token as a deleted node's. B runs on a
    // second store over the same database, so holding its first read back holds no connection A needs.
    const db = await target.create();
    const [storeA, storeB] = [await Store.open(db.target), await Store.open(db.target)];
    try {
      const a = testContext(storeA, clock);
      const { id, token } = await new EnrollmentService(a).create({ uses: 4 });
      let reached!: () => void;
      const firstReadDone = new Promise<void>((r) => (reached = r));
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let reads = 0;
      const holdFirstRead: KyselyPlugin = {
        transformQuery: (args) => args.node,
        transformResult: async (args) => {
          if (reads++ === 0) {
            reached();
            await released;
          }
          return args.result;
        },
      };
      const held = storeB.db.withPlugin(holdFirstRead);
      const b = testContext(new Proxy(storeB, { get: (t, k) => (k === 'db' ? held : Reflect.get(t, k, t)) }), clock);
      const second = new BackupXIdentity(b).resolve(token, joining({ ...heartbeat, hostname: 'other' }));
      await firstReadDone;
      const first = await new BackupXIdentity(a).resolve(token, joining());
      release();
      expect((await second).id).toBe(first.id);
      expect(await listNodeRows(storeA.db)).toHaveLength(1);
      expect((await getEnrollmentToken(storeA.db, id))!.uses).toBe(1);
    } finally {
      await storeA.close();
      await storeB.close();
      await db.drop();
    }
  });
});
