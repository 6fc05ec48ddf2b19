import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CONFIG_REVISION_PATTERN, type PushedConfig } from '@steward/protocol';
import { atomicWrite } from '../lib/atomic-write.js';
import { isMissing } from '../lib/fs-failure.js';
import type { InForce } from './live-apply.js';
import { resolvePushedConfig, type LocalLayers } from './pushed.js';

/** The pushed config in force, as stored in the data dir so a restart comes back with it. */
export interface AppliedConfig {
  revision: string;
  /** As the control plane pushed it (checked again against the local layers when read). */
  config: PushedConfig;
  appliedAt: number;
}

export const APPLIED_CONFIG_FILE = 'pushed-config.json';

export function appliedConfigPath(dataDir: string): string {
  return join(dataDir, APPLIED_CONFIG_FILE);
}

/**
 * Writes the applied config atomically (temp file, fsync, rename), readable by the agent's user
 * only: a crash leaves the previous file or the new one, never half of it.
 */
export async function saveAppliedConfig(dataDir: string, applied: AppliedConfig): Promise<void> {
  await atomicWrite(appliedConfigPath(dataDir), Buffer.from(`${JSON.stringify(applied, null, 2)}\n`), 0o600);
}

/**
 * The stored applied config; null when there is none. A file that is not one (unreadable, not
 * JSON, wrong shape) is reported as `error`: the agent then starts on its local config.
 */
export function readAppliedConfig(dataDir: string): { applied: AppliedConfig } | { error: string } | null {
  let text: string;
  try {
    text = readFileSync(appliedConfigPath(dataDir), 'utf8');
  } catch (e) {
    if (isMissing(e)) return null;
    return { error: (e as Error).message };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { error: `not JSON: ${(e as Error).message}` };
  }
  const d = doc as Partial<AppliedConfig> | null;
  if (
    typeof d !== 'object' || d === null ||
    typeof d.revision !== 'string' || !new RegExp(CONFIG_REVISION_PATTERN).test(d.revision) ||
    typeof d.config !== 'object' || d.config === null || Array.isArray(d.config) ||
    typeof d.appliedAt !== 'number'
  ) {
    return { error: 'not an applied config ({revision, config, appliedAt})' };
  }
  return { applied: { revision: d.revision, config: d.config, appliedAt: d.appliedAt } };
}

/**
 * The stored pushed config merged with today's local layers, as the agent starts with it; null
 * when there is none, or when it is damaged or no longer validates (then logged: the agent starts
 * on its local config and the control plane pushes the current one after welcome).
 */
export async function loadStoredConfig(layers: LocalLayers, dataDir: string, log?: Logger): Promise<InForce | null> {
  const stored = readAppliedConfig(dataDir);
  if (!stored) return null;
  if ('error' in stored) {
    log?.warn({ reason: stored.error }, 'the stored pushed configuration is unreadable; starting with the local configuration');
    return null;
  }
  const { revision, config } = stored.applied;
  try {
    // Plugins are not loaded yet: their sections are checked when they load.
    const resolved = await resolvePushedConfig(layers, config, { unknownSections: 'ignore' });
    log?.info({ revision }, 'starting with the stored pushed configuration');
    return { ...resolved, revision, pushed: config };
  } catch (e) {
    log?.warn({ err: e, revision }, 'the stored pushed configuration no longer validates; starting with the local configuration');
    return null;
  }
}
