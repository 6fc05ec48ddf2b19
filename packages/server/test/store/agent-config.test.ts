import { describe, expect, it } from 'vitest';
import {
  deleteConfigDocument,
  deleteNodeConfigStatus,
  getConfigDocument,
  getNodeConfigStatus,
  listConfigDocuments,
  listNodeConfigStatus,
  listSentRevisions,
  recordConfigReport,
  recordConfigSent,
  upsertConfigDocument,
} from '../../src/store/queries/agent-config.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { T0 } from '../helpers/rows.js';

const doc = (name: string, priority: number, config: object = {}) => ({
  name,
  target: JSON.stringify({ all: true }),
  priority,
  config: JSON.stringify(config),
  updated_at: T0,
  updated_by: 'tok_a',
});

describe.each(storeTargets())('agent config documents on $name', (target) => {
  const ctx = useFreshStore(target);

  it('a PUT creates version 1, a second replaces it as version 2; listing is in merge order', async () => {
    const db = ctx.store.db;
    expect((await upsertConfigDocument(db, doc('web', 10, { logLevel: 'debug' }))).version).toBe(1);
    await upsertConfigDocument(db, doc('base', 0));
    await upsertConfigDocument(db, doc('abase', 0));
    const again = await upsertConfigDocument(db, { ...doc('web', 5, { logLevel: 'warn' }), updated_at: T0 + 1, updated_by: 'tok_b' });
    expect(again).toMatchObject({ name: 'web', version: 2, priority: 5, updated_at: T0 + 1, updated_by: 'tok_b' });
    expect(JSON.parse((await getConfigDocument(db, 'web'))!.config)).toEqual({ logLevel: 'warn' });
    expect((await listConfigDocuments(db)).map((d) => d.name)).toEqual(['abase', 'base', 'web']);
  });

  it('delete removes only the named document and says whether there was one', async () => {
    const db = ctx.store.db;
    await upsertConfigDocument(db, doc('base', 0));
    await upsertConfigDocument(db, doc('web', 1));
    expect(await deleteConfigDocument(db, 'web')).toBe(true);
    expect(await deleteConfigDocument(db, 'web')).toBe(false);
    expect(await getConfigDocument(db, 'web')).toBeUndefined();
    expect((await listConfigDocuments(db)).map((d) => d.name)).toEqual(['base']);
  });
});

describe.each(storeTargets())('node config status on $name', (target) => {
  const ctx = useFreshStore(target);

  it('keeps the revision sent and the agent answer side by side', async () => {
    const db = ctx.store.db;
    await recordConfigSent(db, 'node_a', 'aaaaaaaaaaaaaaaa', T0);
    expect(await getNodeConfigStatus(db, 'node_a')).toMatchObject({ desired_revision: 'aaaaaaaaaaaaaaaa', sent_at: T0, state: null, reported_revision: null });
    expect(await recordConfigReport(db, 'node_a', { revision: 'aaaaaaaaaaaaaaaa', state: 'applied', reason: null, issues: null, at: T0 + 5 })).toBe(true);
    await recordConfigSent(db, 'node_a', 'bbbbbbbbbbbbbbbb', T0 + 10);
    expect(await getNodeConfigStatus(db, 'node_a')).toMatchObject({
      desired_revision: 'bbbbbbbbbbbbbbbb',
      sent_at: T0 + 10,
      reported_revision: 'aaaaaaaaaaaaaaaa',
      state: 'applied',
      reported_at: T0 + 5,
    });
  });

  it('an older answer never overwrites a newer one', async () => {
    const db = ctx.store.db;
    const issues = JSON.stringify([{ field: 'moduleSettings.monitor', rule: 'bad' }]);
    expect(await recordConfigReport(db, 'node_a', { revision: 'bbbbbbbbbbbbbbbb', state: 'rejected', reason: 'bad monitor', issues, at: T0 + 20 })).toBe(true);
    expect(await recordConfigReport(db, 'node_a', { revision: 'aaaaaaaaaaaaaaaa', state: 'applied', reason: null, issues: null, at: T0 + 10 })).toBe(false);
    expect(await getNodeConfigStatus(db, 'node_a')).toMatchObject({ reported_revision: 'bbbbbbbbbbbbbbbb', state: 'rejected', reason: 'bad monitor', issues, reported_at: T0 + 20 });
    await recordConfigSent(db, 'node_b', 'cccccccccccccccc', T0);
    expect((await listNodeConfigStatus(db, ['node_a', 'node_b', 'node_c'])).map((s) => s.node_id).sort()).toEqual(['node_a', 'node_b']);
    expect(await listNodeConfigStatus(db, [])).toEqual([]);
    expect((await listSentRevisions(db, ['node_a', 'node_b', 'node_c'])).sort((x, y) => x.node_id.localeCompare(y.node_id))).toEqual([
      { node_id: 'node_a', desired_revision: null },
      { node_id: 'node_b', desired_revision: 'cccccccccccccccc' },
    ]);
    expect(await listSentRevisions(db, [])).toEqual([]);
    await deleteNodeConfigStatus(db, 'node_a');
    expect(await getNodeConfigStatus(db, 'node_a')).toBeUndefined();
    expect(await getNodeConfigStatus(db, 'node_b')).toBeDefined();
  });
});
