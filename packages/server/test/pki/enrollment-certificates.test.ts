import { X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { EnrollmentService } from '../../src/enrollment/service.js';
import { ensureCa } from '../../src/pki/ca.js';
import { signNodeCsr } from '../../src/pki/client-cert.js';
import { newRsaKey } from '../../src/pki/keys.js';
import { getEnrollmentToken } from '../../src/store/queries/enrollment.js';
import { listNodeCertificates } from '../../src/store/queries/certificates.js';
import { listNodeRows } from '../../src/store/queries/nodes.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { testContext } from '../helpers/context.js';
import { T0 } from '../helpers/rows.js';

const { ca } = ensureCa(mkdtempSync(join(tmpdir(), 'steward-pki-')));

function csrPem(): string {
  const { privateKey, publicKey } = newRsaKey();
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = publicKey;
  csr.sign(privateKey, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}

describe.each(storeTargets())('client certificates at enrollment on $name', (target) => {
  const fresh = useFreshStore(target);

  it('signs the CSR for the new node and records the serial and expiry', async () => {
    const ctx = testContext(fresh.store, { now: T0 });
    const enrollment = new EnrollmentService(ctx, (csr, nodeId) => signNodeCsr(ca, csr, nodeId, ctx.now()));
    const { token } = await enrollment.create({});
    const res = await enrollment.enroll({ token, name: 'with-csr', csr: csrPem() });
    const cert = new X509Certificate(res.clientCert!);
    expect(cert.subject).toBe(`CN=${res.nodeId}`);
    const [row] = await listNodeCertificates(fresh.store.db, res.nodeId);
    expect(row).toMatchObject({ node_id: res.nodeId, issued_at: T0, expires_at: T0 + 365 * 86_400_000 });
    expect(row!.serial.replace(/^0+/, '')).toBe(cert.serialNumber.toLowerCase().replace(/^0+/, ''));
  });

  it('a bad CSR is the agent\'s mistake: 400, no node, the token keeps its use', async () => {
    const ctx = testContext(fresh.store, { now: T0 });
    const enrollment = new EnrollmentService(ctx, (csr, nodeId) => signNodeCsr(ca, csr, nodeId, ctx.now()));
    const { token, id } = await enrollment.create({});
    await expect(enrollment.enroll({ token, name: 'bad-csr', csr: 'junk' })).rejects.toMatchObject({ code: 'validation_failed', status: 400 });
    expect((await getEnrollmentToken(fresh.store.db, id))!.uses).toBe(0);
    expect((await listNodeRows(fresh.store.db)).map((n) => n.name)).not.toContain('bad-csr');
  });

  it('without TLS (no signer) a CSR is ignored and nothing is recorded', async () => {
    const ctx = testContext(fresh.store, { now: T0 });
    const enrollment = new EnrollmentService(ctx);
    const { token } = await enrollment.create({});
    const res = await enrollment.enroll({ token, name: 'plain', csr: csrPem() });
    expect(res.clientCert).toBeUndefined();
    expect(await listNodeCertificates(fresh.store.db, res.nodeId)).toEqual([]);
  });
});
