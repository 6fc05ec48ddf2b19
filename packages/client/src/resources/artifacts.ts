import type { Readable } from 'node:stream';
import type { Artifact, ArtifactListQuery } from '@steward/protocol';
import { downloadStream, downloadToFile, uploadFile, uploadStream, type ArtifactUpload, type UploadOptions } from '../artifact-transfer.js';
import { enc } from '../transport.js';
import { Resource, type List } from './resource.js';

/** Artifacts, streamed both ways. */
export class ArtifactsApi extends Resource {
  /** Uploads a stream; give `length` when known (the server refuses an oversized one up front). */
  async putArtifact(body: Readable, opts: UploadOptions & { length?: number } = {}): Promise<ArtifactUpload> {
    return uploadStream(this.http.streams(), '/api/v1/artifacts', body, opts.length, opts);
  }

  async putArtifactFile(file: string, opts: UploadOptions = {}): Promise<ArtifactUpload> {
    return uploadFile(this.http.streams(), '/api/v1/artifacts', file, opts);
  }

  /** The artifact's bytes as a stream (consume or destroy it). */
  async getArtifact(sha256: string): Promise<{ size: number; etag: string | undefined; body: Readable }> {
    return downloadStream(this.http.streams(), `/api/v1/artifacts/${enc(sha256)}`);
  }

  /** Downloads into `dest`, verified against the sha before it appears there. */
  async downloadArtifact(sha256: string, dest: string, opts: { onBytes?: (n: number) => void } = {}): Promise<{ size: number }> {
    return downloadToFile(this.http.streams(), `/api/v1/artifacts/${enc(sha256)}`, sha256, dest, opts.onBytes);
  }

  async artifactMeta(sha256: string): Promise<Artifact> {
    return this.http.json<Artifact>('GET', `/artifacts/${enc(sha256)}/meta`);
  }

  async listArtifacts(query: ArtifactListQuery = {}): Promise<List<Artifact>> {
    return this.http.json<List<Artifact>>('GET', '/artifacts', { query: { ...query } });
  }

  async deleteArtifact(sha256: string): Promise<void> {
    await this.http.request('DELETE', `/artifacts/${enc(sha256)}`);
  }
}
