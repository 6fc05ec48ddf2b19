import { createHash } from 'node:crypto';
import type { PushedConfig } from '../agent/config.js';
import { canonicalJson } from '../canonical-json.js';

/**
 * Same effective config → same revision on every replica and agent: the first 16 hex chars of the
 * SHA-256 of its canonical JSON (keys sorted).
 */
export function configRevision(config: PushedConfig): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}
