import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '@steward/protocol';
import type { InboundSettings } from '../core/config-schema.js';

/** Where an agent on loopback keeps the key it made itself, as MediaStack's installer would. */
export const GENERATED_KEY_FILE = 'inbound-api-key';

function firstLine(path: string, field: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ValidationError(`${field} ${path}: ${(e as Error).message}`, [{ field, rule: 'readable file' }]);
  }
  const key = text.split('\n')[0]!.trim();
  if (key.length < 16) throw new ValidationError(`${field} ${path}: the key on its first line must have at least 16 characters`, [{ field, rule: 'key of 16+ characters' }]);
  return key;
}

/**
 * The key callers must send as X-API-KEY: the configured one, the one in `apiKeyFile`, or (only
 * on loopback, which the config check enforces) one made once and kept in the data dir (0600).
 */
export function resolveApiKey(settings: InboundSettings, dataDir: string): { key: string; file?: string } {
  if (settings.apiKey) return { key: settings.apiKey };
  if (settings.apiKeyFile) return { key: firstLine(settings.apiKeyFile, 'inbound.apiKeyFile'), file: settings.apiKeyFile };
  const file = join(dataDir, GENERATED_KEY_FILE);
  // 'wx': two agents on one data dir never overwrite each other's key.
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  return { key: firstLine(file, 'inbound API key file'), file };
}
