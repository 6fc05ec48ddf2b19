import { StewardError } from '@steward/protocol';

/** The uploaded bytes do not have the SHA-256 the caller said they would. */
export class ChecksumMismatchError extends StewardError {
  constructor(expected: string, actual: string) {
    super('checksum_mismatch', 422, `the body's SHA-256 is ${actual}, not the expected ${expected}; nothing was stored`, { expected, actual });
  }
}

/** The stream ended before the whole body arrived. */
export class UploadAbortedError extends StewardError {
  constructor() {
    super('upload_aborted', 400, 'the upload ended before the whole body arrived; nothing was stored');
  }
}

/** A node's uploads would pass its quota (bytes or count); nothing was stored. */
export class ArtifactQuotaError extends StewardError {
  constructor(message: string, details: { usedBytes: number; usedCount: number; quotaBytes: number; quotaCount: number }) {
    super('artifact_quota_exceeded', 413, message, details);
  }
}
