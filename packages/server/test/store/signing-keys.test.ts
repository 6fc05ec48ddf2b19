import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commandFields, verifyFields } from '@steward/protocol/node';
import { SIGNATURE_MAX_LIFETIME_MS } from '@steward/protocol';
import { CommandSigner, KEY_SET_REUSE_MS, SIGNING_KEY_FILE } from '../../src/security/signing-key.js';
import { activeSigningKeys, getSigningKey, insertSigningKey, retireSigningKeysExcept } from '../../src/store/queries/signing-keys.js';
import { confirmNextCredential, getNodeRow, insertNode, revokeNodeRow, setNextCredential } from '../../src/store/queries/nodes.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { nodeRow, T0 } from '../helpers/rows.js';

const dirs: string[] = [];
const dataDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'steward-signing-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe.each(storeTargets())('signing keys and node credentials on $name', (target) => {
  const ctx = useFreshStore(target);

  it('lists keys still valid at a moment, oldest first; retiring keeps the new key open', async () => {
    const { db } = ctx.store;
    await insertSigningKey(db, { id: 'aaaaaaaaaaaaaaaa', public_key: 'A', created_at: T0, not_after: null });
    await insertSigningKey(db, { id: 'bbbbbbbbbbbbbbbb', public_key: 'B', created_at: T0 + 1, not_after: null });
    // A repeat insert (two replicas registering one key) changes nothing.
    await insertSigningKey(db, { id: 'aaaaaaaaaaaaaaaa', public_key: 'other', created_at: T0 + 5, not_after: null });
    expect((await getSigningKey(db, 'aaaaaaaaaaaaaaaa'))?.public_key).toBe('A');
    expect(await retireSigningKeysExcept(db, 'bbbbbbbbbbbbbbbb', T0 + 100)).toBe(1);
    expect((await activeSigningKeys(db, T0 + 99)).map((k) => k.id)).toEqual(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
    expect((await activeSigningKeys(db, T0 + 100)).map((k) => k.id)).toEqual(['bbbbbbbbbbbbbbbb']);
    // A later rotation never extends an earlier retirement.
    await insertSigningKey(db, { id: 'cccccccccccccccc', public_key: 'C', created_at: T0 + 2, not_after: null });
    await retireSigningKeysExcept(db, 'cccccccccccccccc', T0 + 500);
    expect((await getSigningKey(db, 'aaaaaaaaaaaaaaaa'))?.not_after).toBe(T0 + 100);
    expect((await getSigningKey(db, 'bbbbbbbbbbbbbbbb'))?.not_after).toBe(T0 + 500);
  });

  it('revokes a node once, dropping a pending rotation; a rotation is confirmed only for the pending hash', async () => {
    const { db } = ctx.store;
    const node = nodeRow({ credential_hash: 'old' });
    await insertNode(db, node);
    expect(await setNextCredential(db, node.id, 'next')).toBe(true);
    expect(await confirmNextCredential(db, node.id, 'stale')).toBe(false);
    expect((await getNodeRow(db, node.id))?.credential_hash).toBe('old');
    expect(await confirmNextCredential(db, node.id, 'next')).toBe(true);
    expect(await getNodeRow(db, node.id)).toMatchObject({ credential_hash: 'next', next_credential_hash: null });

    await setNextCredential(db, node.id, 'again');
    expect((await revokeNodeRow(db, node.id, T0 + 7))?.revoked_at).toBe(T0 + 7);
    expect(await revokeNodeRow(db, node.id, T0 + 8)).toBeUndefined();
    expect(await getNodeRow(db, node.id)).toMatchObject({ revoked_at: T0 + 7, next_credential_hash: null });
    expect(await setNextCredential(db, node.id, 'after')).toBe(false);
    expect(await confirmNextCredential(db, node.id, 'again')).toBe(false);
  });

  it('makes a 0600 key on the first start, loads it on the next, and refuses to make a second one for the same store', async () => {
    const { db } = ctx.store;
    const first = dataDir();
    const signer = await CommandSigner.open(db, first, T0);
    expect(statSync(join(first, SIGNING_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect((await activeSigningKeys(db, T0)).map((k) => k.id)).toEqual([signer.keyId]);
    expect((await CommandSigner.open(db, first, T0 + 1)).keyId).toBe(signer.keyId);

    await expect(CommandSigner.open(db, dataDir(), T0 + 2)).rejects.toMatchObject({ code: 'signing_key_missing', message: expect.stringContaining('--signing-key') });
    // Given the file (as an operator copies it), a second replica signs with the same key.
    const copied = join(dataDir(), 'copied.key');
    writeFileSync(copied, readFileSync(join(first, SIGNING_KEY_FILE)), { mode: 0o600 });
    expect((await CommandSigner.open(db, dataDir(), T0 + 3, copied)).keyId).toBe(signer.keyId);
    expect(await activeSigningKeys(db, T0 + 3)).toHaveLength(1);
  });

  it('signs a command until its own deadline at most a bounded time; rotation keeps the old key beside the new until it retires', async () => {
    const { db } = ctx.store;
    const dir = dataDir();
    const signer = await CommandSigner.open(db, dir, T0);
    const pem = (await activeSigningKeys(db, T0))[0]!.public_key;
    const cmd = { id: 'cmd_1', type: 'exec.run', payload: { command: 'true' }, state: 'pending', expires_at: T0 + 60_000 };
    const sig = signer.signCommand('node_1', cmd, T0)!;
    expect(sig.expiresAt).toBe(T0 + 60_000);
    const fields = commandFields({ nodeId: 'node_1', commandId: 'cmd_1', type: 'exec.run', payload: { command: 'true' }, issuedAt: T0, expiresAt: sig.expiresAt, keyId: sig.keyId });
    expect(verifyFields(pem, 'command', fields, sig.value)).toBe(true);
    expect(verifyFields(pem, 'command', { ...fields, nodeId: 'node_2' }, sig.value)).toBe(false);
    expect(signer.signCommand('node_1', { ...cmd, expires_at: null }, T0)!.expiresAt).toBe(T0 + SIGNATURE_MAX_LIFETIME_MS);
    expect(signer.signCommand('node_1', cmd, T0 + 60_000)).toBeNull();

    // Welcomes of one moment share one signed set; after the reuse window, or once the keys
    // change (the rotation below), it is signed anew.
    const first = await signer.keySet(db, T0 + 1);
    expect(await signer.keySet(db, T0 + 2)).toBe(first);
    expect((await signer.keySet(db, T0 + 1 + KEY_SET_REUSE_MS)).issuedAt).toBe(T0 + 1 + KEY_SET_REUSE_MS);

    const old = signer.keyId;
    const rotation = await signer.rotate(db, T0 + 10, 1000);
    rotation.use();
    expect(signer.keyId).toBe(rotation.keyId);
    expect(rotation.retiredIds).toEqual([old]);
    const set = await signer.keySet(db, T0 + 20);
    expect(set.keys.map((k) => [k.id, k.notAfter])).toEqual([[old, T0 + 1010], [rotation.keyId, null]]);
    expect(set.signatures.map((s) => s.keyId)).toEqual([rotation.keyId, old]);
    // A restart inside the window still holds the old key; one after it has only the new.
    expect((await (await CommandSigner.open(db, dir, T0 + 30)).keySet(db, T0 + 30)).signatures).toHaveLength(2);
    expect(existsSync(join(dir, `${SIGNING_KEY_FILE}.${old}`))).toBe(true);
    expect((await (await CommandSigner.open(db, dir, T0 + 2000)).keySet(db, T0 + 2000)).signatures.map((s) => s.keyId)).toEqual([rotation.keyId]);
    expect(existsSync(join(dir, `${SIGNING_KEY_FILE}.${old}`))).toBe(false);
  });
});
