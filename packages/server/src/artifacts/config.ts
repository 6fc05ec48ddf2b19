import { DEFAULT_ARTIFACT_MAX_BYTES, ValidationError } from '@steward/protocol';

/** The largest artifact accepted: STEWARD_ARTIFACT_MAX_BYTES, else the default (1 GiB). */
export function artifactMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.STEWARD_ARTIFACT_MAX_BYTES;
  if (v === undefined || v === '') return DEFAULT_ARTIFACT_MAX_BYTES;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new ValidationError('STEWARD_ARTIFACT_MAX_BYTES must be a positive integer of bytes', [{ field: 'STEWARD_ARTIFACT_MAX_BYTES', rule: 'positive integer' }]);
  }
  return n;
}
