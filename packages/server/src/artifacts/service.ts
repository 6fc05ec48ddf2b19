import type { Readable } from 'node:stream';
import { NotFoundError, PayloadTooLargeError, type Artifact, type ArtifactListQuery } from '@steward/protocol';
import type { Context } from '../core/context.js';
import { artifactUsageBy, deleteArtifactRow, getArtifactRow, insertArtifactOnce, listArtifactRows, nodeMayReadArtifact } from '../store/queries/artifacts.js';
import type { ArtifactsTable } from '../store/schema.js';
import type { BlobFiles } from './blob-files.js';
import { ArtifactQuotaError } from './errors.js';

export interface PutOptions {
  name?: string;
  /** Refuse unless the body has this SHA-256. */
  sha256?: string;
  /** `token:<id>` or `node:<id>`. */
  createdBy: string | null;
  /** The request's Content-Length, when it sent one: refused up front when over the limit. */
  declaredLength?: number;
  /** What `createdBy` may have stored in all (agents' uploads: per node). */
  quota?: { bytes: number; count: number };
}

export function artifactFromRow(r: ArtifactsTable): Artifact {
  return { sha256: r.sha256, size: r.size, name: r.name, createdAt: r.created_at, createdBy: r.created_by };
}

/** The control plane's artifact store: metadata rows in the store, bytes in `BlobFiles`. */
export class ArtifactService {
  /** More reasons a node may read an artifact, added by features (a plugin its pushed config names). */
  private readonly readGrants: ((nodeId: string, sha256: string) => Promise<boolean>)[] = [];

  constructor(
    private readonly ctx: Context,
    readonly files: BlobFiles,
    readonly maxBytes: number,
  ) {}

  /**
   * Refuses a node an artifact it has no business with (another node's backup archive) with the
   * same 404 as a missing one, so a node cannot even learn which archives exist.
   */
  async checkNodeMayRead(nodeId: string, sha256: string): Promise<void> {
    if (await nodeMayReadArtifact(this.ctx.store.db, nodeId, sha256)) return;
    for (const grant of this.readGrants) if (await grant(nodeId, sha256)) return;
    throw new NotFoundError('artifact', sha256);
  }

  /** Lets nodes read the artifacts `grant` says yes to, besides their own and those their commands name. */
  grantNodeReads(grant: (nodeId: string, sha256: string) => Promise<boolean>): void {
    this.readGrants.push(grant);
  }

  async put(body: Readable, o: PutOptions): Promise<{ artifact: Artifact; created: boolean }> {
    if (o.declaredLength !== undefined && o.declaredLength > this.maxBytes) {
      throw new PayloadTooLargeError(`the artifact (${o.declaredLength} bytes) is larger than the limit of ${this.maxBytes} bytes; nothing was stored`);
    }
    const room = o.quota && o.createdBy ? await this.roomLeft(o.createdBy, o.quota, o.declaredLength) : null;
    let blob;
    try {
      blob = await this.files.write(body, Math.min(this.maxBytes, room?.bytes ?? Infinity), o.sha256);
    } catch (e) {
      if (room && room.bytes < this.maxBytes && e instanceof PayloadTooLargeError) throw room.refusal();
      throw e;
    }
    const { row, created } = await insertArtifactOnce(this.ctx.store.db, {
      sha256: blob.sha256,
      size: blob.size,
      name: o.name ?? null,
      created_at: this.ctx.now(),
      created_by: o.createdBy,
    });
    return { artifact: artifactFromRow(row), created };
  }

  /**
   * Bytes `createdBy` may still upload; refuses at once when its count is used up or the declared
   * length does not fit. Two uploads racing may together pass the quota by one artifact.
   */
  private async roomLeft(createdBy: string, quota: { bytes: number; count: number }, declared?: number) {
    const used = await artifactUsageBy(this.ctx.store.db, createdBy);
    const bytes = Math.max(0, quota.bytes - used.bytes);
    const refusal = () =>
      new ArtifactQuotaError(
        `${createdBy} has stored ${used.count} artifacts of ${used.bytes} bytes; its quota is ${quota.count} artifacts and ${quota.bytes} bytes; nothing was stored`,
        { usedBytes: used.bytes, usedCount: used.count, quotaBytes: quota.bytes, quotaCount: quota.count },
      );
    if (used.count >= quota.count || (declared !== undefined && declared > bytes)) throw refusal();
    return { bytes, refusal };
  }

  async meta(sha256: string): Promise<Artifact> {
    const row = await getArtifactRow(this.ctx.store.db, sha256);
    if (!row) throw new NotFoundError('artifact', sha256);
    return artifactFromRow(row);
  }

  async has(sha256: string): Promise<boolean> {
    return (await getArtifactRow(this.ctx.store.db, sha256)) !== undefined && (await this.files.exists(sha256));
  }

  async list(q: ArtifactListQuery): Promise<Artifact[]> {
    return (await listArtifactRows(this.ctx.store.db, { name: q.name, limit: q.limit })).map(artifactFromRow);
  }

  /** The artifact's metadata and a stream of its bytes. */
  async open(sha256: string): Promise<{ artifact: Artifact; stream: Readable }> {
    const artifact = await this.meta(sha256);
    if (!(await this.files.exists(sha256))) throw new NotFoundError('artifact file', sha256);
    return { artifact, stream: this.files.open(sha256) };
  }

  async remove(sha256: string): Promise<void> {
    if (!(await deleteArtifactRow(this.ctx.store.db, sha256))) throw new NotFoundError('artifact', sha256);
    await this.files.remove(sha256);
  }
}
