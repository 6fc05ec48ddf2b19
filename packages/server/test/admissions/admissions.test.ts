import { beforeEach, describe, expect, it } from 'vitest';
import { AdmissionService, type AdmitRequest } from '../../src/admissions/service.js';
import { CidrList } from '../../src/security/cidrs.js';
import type { Context } from '../../src/core/context.js';
import { deleteNodeRow, getNodeRow } from '../../src/store/queries/nodes.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { T0 } from '../helpers/rows.js';
import { testContext } from '../helpers/context.js';

const device = (over: Partial<AdmitRequest> = {}): AdmitRequest => ({
  protocol: 'retire-cluster',
  externalId: 'android-001',
  hostname: 'old phone',
  source: '127.0.0.9',
  profile: { role: 'worker' },
  heartbeatIntervalMs: 60_000,
  ...over,
});

describe('CidrList', () => {
  it('matches IPv4, IPv4-mapped IPv6 and IPv6 ranges, and refuses what is not a range', () => {
    const l = new CidrList(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);
    expect(l.has('10.200.3.4')).toBe(true);
    expect(l.has('::ffff:10.1.1.1')).toBe(true);
    expect(l.has('192.168.1.7')).toBe(true);
    expect(l.has('192.168.1.8')).toBe(false);
    expect(l.has('fd12::1')).toBe(true);
    expect(l.has('not an address')).toBe(false);
    expect(() => new CidrList(['10.0.0.0/33'])).toThrow(/admitCidrs: "10.0.0.0\/33" is not an address range/);
    expect(() => new CidrList(['example.com/8'])).toThrow(/not an address range/);
  });
});

describe.each(storeTargets())('admissions on $name', (target) => {
  const fresh = useFreshStore(target);
  let ctx: Context;
  let admissions: AdmissionService;

  beforeEach(() => {
    ctx = testContext(fresh.store, { now: T0 });
    admissions = new AdmissionService(ctx, ['127.0.0.128/25']);
  });

  it('keeps an unknown device pending until approved, then knows it as a node of its protocol', async () => {
    const first = await admissions.admit(device());
    expect(first.state).toBe('pending');
    expect(await admissions.admit(device({ source: '127.0.0.10' }))).toEqual(first);
    const [pending] = await admissions.list('pending');
    expect(pending).toMatchObject({ protocol: 'retire-cluster', externalId: 'android-001', source: '127.0.0.10', profile: { role: 'worker' } });

    const approved = await admissions.approve('android-001', { labels: { pool: 'phones' } }, 'token:admin');
    expect(approved).toMatchObject({ state: 'approved', decidedBy: 'token:admin' });
    const node = await getNodeRow(ctx.store.db, approved.nodeId!);
    expect(node).toMatchObject({ name: 'old-phone', protocol: 'retire-cluster', external_id: 'android-001', heartbeat_interval_ms: 60_000, labels: '{"pool":"phones"}' });
    const again = await admissions.admit(device());
    expect(again.state === 'approved' && again.node.id).toBe(node!.id);
    await expect(admissions.approve(approved.id, {}, 'token:admin')).rejects.toMatchObject({ code: 'admission_decided', status: 409 });
    expect(await admissions.list('pending')).toEqual([]);
  });

  it('keeps a rejected device out, and an operator may still approve it later', async () => {
    const first = await admissions.admit(device({ externalId: 'pi-7' }));
    const rejected = await admissions.reject(first.state !== 'approved' ? first.admissionId : '', 'token:op');
    expect(rejected.state).toBe('rejected');
    expect((await admissions.admit(device({ externalId: 'pi-7' }))).state).toBe('rejected');
    await expect(admissions.reject('pi-7', 'token:op')).rejects.toMatchObject({ code: 'admission_decided' });
    expect((await admissions.approve('pi-7', {}, 'token:op')).state).toBe('approved');
    expect((await admissions.admit(device({ externalId: 'pi-7' }))).state).toBe('approved');
  });

  it('admits a device from an admitted range at once, and starts over when its node was deleted', async () => {
    const a = await admissions.admit(device({ externalId: 'lab-1', source: '::ffff:127.0.0.200' }));
    expect(a.state).toBe('approved');
    const nodeId = a.state === 'approved' ? a.node.id : '';
    const [rec] = await admissions.list('approved');
    expect(rec!.decidedBy).toBe('cidr:::ffff:127.0.0.200');
    await deleteNodeRow(ctx.store.db, nodeId);
    const b = await admissions.admit(device({ externalId: 'lab-1', source: '127.0.0.9' }));
    expect(b.state).toBe('pending');
  });

  it('answers unknown ids with not_found and changes nothing', async () => {
    await expect(admissions.approve('nobody', {}, 'x')).rejects.toMatchObject({ code: 'not_found', status: 404 });
    await expect(admissions.reject('nobody', 'x')).rejects.toMatchObject({ code: 'not_found' });
    expect(await admissions.list()).toEqual([]);
  });
});
