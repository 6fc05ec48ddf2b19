import { Type, type Static } from '@sinclair/typebox';
import { ListQuery, Nullable, Timestamp } from './common.js';
import { SHA256_PATTERN } from '../patterns.js';

/** Where agents download and upload artifacts with their node credential. */
export const AGENT_ARTIFACTS_PATH = '/agent/v1/artifacts';

export { SHA256_PATTERN };
export const Sha256 = Type.String({ pattern: SHA256_PATTERN, description: 'lower-case hex SHA-256' });

/** Default largest artifact the control plane accepts (STEWARD_ARTIFACT_MAX_BYTES overrides). */
export const DEFAULT_ARTIFACT_MAX_BYTES = 1024 * 1024 * 1024;

export const Artifact = Type.Object(
  {
    sha256: Sha256,
    size: Type.Integer({ minimum: 0 }),
    name: Nullable(Type.String()),
    createdAt: Timestamp,
    createdBy: Nullable(Type.String({ description: '`token:<id>` or `node:<id>`' })),
  },
  { description: 'a file in the content-addressed artifact store' },
);
export type Artifact = Static<typeof Artifact>;

export const ArtifactName = Type.String({ minLength: 1, maxLength: 255, pattern: '^[^/\\\\\\x00-\\x1f]+$', description: 'a file name, no slashes' });

export const ArtifactUploadQuery = Type.Object(
  {
    name: Type.Optional(ArtifactName),
    sha256: Type.Optional(Type.String({ pattern: SHA256_PATTERN, description: 'refuse the upload unless the body has this SHA-256' })),
  },
  { additionalProperties: false },
);
export type ArtifactUploadQuery = Static<typeof ArtifactUploadQuery>;

export const ArtifactParams = Type.Object({ sha256: Type.String({ pattern: SHA256_PATTERN }) });
export type ArtifactParams = Static<typeof ArtifactParams>;

export const ArtifactListQuery = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 255, description: 'exact name' })),
  ...ListQuery,
});
export type ArtifactListQuery = Static<typeof ArtifactListQuery>;

/** The raw body of an upload and of a download, for the OpenAPI document. */
export const BinaryBody = Type.Unsafe<unknown>({ type: 'string', format: 'binary', description: 'raw bytes (application/octet-stream)' });
