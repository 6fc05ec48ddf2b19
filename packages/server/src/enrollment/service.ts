import { hostname as osHostname } from 'node:os';
import {
  capInventory,
  ConflictError,
  isReservedLabel,
  newId,
  NotFoundError,
  NODE_NAME_PATTERN,
  StewardError,
  type EnrollmentToken,
  type EnrollmentTokenCreate,
  type EnrollmentTokenCreated,
  type EnrollRequest,
  type EnrollResponse,
  type Inventory,
  type Labels,
} from '@steward/protocol';
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Context } from '../core/context.js';
import type { Database, NodesTable } from '../store/schema.js';
import { publishNodeChanged } from '../events/node-status.js';
import { EMPTY_INVENTORY, fromJson } from '../store/rows.js';
import { enrollmentTokenFromRow } from './rows.js';
import {
  deleteEnrollmentToken,
  getEnrollmentToken,
  insertEnrollmentToken,
  listEnrollmentTokens,
  takeEnrollmentUse,
} from '../store/queries/enrollment.js';
import { insertNode, nodeNameTaken } from '../store/queries/nodes.js';
import { insertNodeCertificate } from '../store/queries/certificates.js';
import { makeCredential, secretMatches, splitCredential } from '../security/secrets.js';
import { enrollmentKeySet } from '../security/signing-key.js';

const NAME = new RegExp(NODE_NAME_PATTERN);

export class EnrollmentRefusedError extends StewardError {
  constructor(code: string, message: string) {
    super(code, 401, message);
  }
}

/** A hostname made into a valid node name (`My Laptop.local` → `My-Laptop.local`). */
export function nameFromHostname(host: string): string {
  const cleaned = host.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63);
  return NAME.test(cleaned) ? cleaned : 'node';
}

/** A node as enrollment or admission makes it: offline until its first hello. */
export function newNodeRow(n: {
  id: string;
  name: string;
  credentialHash: string;
  labels: Labels;
  inventory: Inventory;
  heartbeatIntervalMs: number;
  now: number;
  protocol?: string;
  externalId?: string;
}): NodesTable {
  return {
    id: n.id,
    name: n.name,
    credential_hash: n.credentialHash,
    status: 'offline',
    labels: JSON.stringify(n.labels),
    inventory: JSON.stringify(n.inventory),
    stats: null,
    heartbeat_interval_ms: n.heartbeatIntervalMs,
    connection_id: null,
    last_seen_at: null,
    status_changed_at: n.now,
    created_at: n.now,
    protocol: n.protocol ?? 'steward',
    external_id: n.externalId ?? null,
  };
}

/**
 * The labels a node enrolls with: the token's (an operator chose them) win over what the agent
 * asks; the agent may add labels the token does not set, but never a reserved `steward.io/` one
 * (the Kubernetes NodeRestriction lesson: a node must not pick the labels that route secrets to it).
 */
export function enrollmentLabels(tokenLabels: Labels, asked: Labels): { labels: Labels; ignored: string[] } {
  const labels: Labels = {};
  const ignored: string[] = [];
  for (const [k, v] of Object.entries(asked)) {
    if (isReservedLabel(k) || (k in tokenLabels && tokenLabels[k] !== v)) ignored.push(k);
    else labels[k] = v;
  }
  return { labels: { ...labels, ...tokenLabels }, ignored };
}

/** `wanted`, or `wanted-<random>` when a node already has that name. */
export async function freeNodeName(db: Kysely<Database>, wanted: string): Promise<string> {
  return (await nodeNameTaken(db, wanted)) ? `${wanted.slice(0, 54)}-${randomBytes(4).toString('hex')}` : wanted;
}

/** Signs a node's CSR with the control plane's CA (TLS only). */
export type CsrSigner = (csrPem: string, nodeId: string) => { pem: string; serial: string; expiresAt: number };

export class EnrollmentService {
  constructor(
    private readonly ctx: Context,
    private readonly signCsr?: CsrSigner,
  ) {}

  async create(body: EnrollmentTokenCreate): Promise<EnrollmentTokenCreated> {
    const now = this.ctx.now();
    const id = newId('enr');
    const { credential, hash } = makeCredential(id);
    const row = {
      id,
      token_hash: hash,
      expires_at: now + (body.ttlSeconds ?? 3600) * 1000,
      uses_allowed: body.uses ?? 1,
      uses: 0,
      labels: JSON.stringify(body.labels ?? {}),
      note: body.note ?? null,
      created_at: now,
    };
    await insertEnrollmentToken(this.ctx.store.db, row);
    return { ...enrollmentTokenFromRow(row, now), token: credential };
  }

  async list(): Promise<EnrollmentToken[]> {
    const now = this.ctx.now();
    return (await listEnrollmentTokens(this.ctx.store.db)).map((r) => enrollmentTokenFromRow(r, now));
  }

  async remove(id: string): Promise<void> {
    if (!(await deleteEnrollmentToken(this.ctx.store.db, id))) throw new NotFoundError('enrollment token', id);
  }

  /** Trades an enrollment token for a node credential; the use is spent only if the node is made. */
  async enroll(body: EnrollRequest): Promise<EnrollResponse> {
    const invalid = new EnrollmentRefusedError('invalid_enrollment_token', 'enrollment token is not valid');
    const parts = splitCredential(body.token);
    if (!parts) throw invalid;
    const token = await getEnrollmentToken(this.ctx.store.db, parts.id);
    if (!token || !secretMatches(parts.secret, token.token_hash)) throw invalid;
    const now = this.ctx.now();
    const capped = capInventory(body.inventory ?? EMPTY_INVENTORY);
    const inventory = capped.value;
    const nodeId = newId('node');
    const { credential, hash } = makeCredential(nodeId);
    // Signed before the token's use is spent: a bad CSR is the agent's mistake (400), not a lost use.
    const clientCert = body.csr && this.signCsr ? this.signCsr(body.csr, nodeId) : undefined;
    const { name, renamedFrom } = await this.ctx.store.tx(async (db) => {
      const spent = await takeEnrollmentUse(db, token.id, now);
      if (!spent) {
        throw token.expires_at <= now
          ? new EnrollmentRefusedError('enrollment_token_expired', 'enrollment token has expired')
          : new EnrollmentRefusedError('enrollment_token_used_up', 'enrollment token has no uses left');
      }
      const wanted = body.name ?? nameFromHostname(inventory.hostname || osHostname());
      if (body.name && (await nodeNameTaken(db, wanted))) throw new ConflictError('name_taken', `a node named ${JSON.stringify(wanted)} already exists`);
      const name = await freeNodeName(db, wanted);
      const { labels, ignored } = enrollmentLabels(fromJson<Labels>(token.labels) ?? {}, body.labels ?? {});
      if (ignored.length) this.ctx.log.warn({ nodeId, ignored }, 'enrollment: labels the agent asked for were ignored (set by the token, or reserved)');
      if (capped.clamped.length) this.ctx.log.warn({ nodeId, clamped: capped.clamped }, 'enrollment: inventory figures past their caps were clamped');
      await insertNode(db, newNodeRow({ id: nodeId, name, credentialHash: hash, labels, inventory, heartbeatIntervalMs: this.ctx.settings.heartbeatIntervalMs, now }));
      if (clientCert) await insertNodeCertificate(db, { serial: clientCert.serial, node_id: nodeId, issued_at: now, expires_at: clientCert.expiresAt });
      return { name, renamedFrom: name === wanted ? undefined : wanted };
    });
    publishNodeChanged(this.ctx, { id: nodeId, name }, 'enrolled');
    // The agent says so in its log: a silent rename leaves an operator looking for the wrong node.
    if (clientCert) this.ctx.log.info({ nodeId, serial: clientCert.serial, expiresAt: clientCert.expiresAt }, 'signed a client certificate');
    const signingKeys = await enrollmentKeySet(this.ctx.store.db, now);
    return {
      nodeId,
      name,
      credential,
      ...(renamedFrom ? { renamedFrom } : {}),
      ...(clientCert ? { clientCert: clientCert.pem } : {}),
      ...(signingKeys.keys.length ? { signingKeys } : {}),
    };
  }
}
