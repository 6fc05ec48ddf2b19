import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compile, SigningKey, Type, type Static } from '@steward/protocol';
import { AgentError } from '../core/errors.js';

export const IDENTITY_FILE = 'identity.json';

export const Identity = Type.Object({
  nodeId: Type.String({ minLength: 1 }),
  name: Type.String(),
  credential: Type.String({ minLength: 1 }),
  server: Type.String(),
  enrolledAt: Type.Integer(),
  /**
   * The control plane's command signing keys, pinned at enrollment (or, for an identity made
   * before commands were signed, from the first welcome) and replaced only by a key set signed
   * by one of them. Absent: nothing pinned yet.
   */
  signingKeys: Type.Optional(Type.Object({ issuedAt: Type.Integer(), keys: Type.Array(SigningKey) })),
});
export type Identity = Static<typeof Identity>;

const validator = compile(Identity);

export function identityPath(dataDir: string): string {
  return join(dataDir, IDENTITY_FILE);
}

/** The identity file's presence is what "enrolled" means. */
export function loadIdentity(dataDir: string): Identity | null {
  const path = identityPath(dataDir);
  if (!existsSync(path)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new AgentError('identity_unreadable', `identity file ${path} is unreadable (${(e as Error).message}); remove it to enroll again`, { path });
  }
  return validator.parse(parsed, `identity file ${path}`);
}

/** Temp file, fsync, rename: a crash leaves either no identity or a whole one, never half. */
export function saveIdentity(dataDir: string, identity: Identity): void {
  const path = identityPath(dataDir);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(identity, null, 2) + '\n', { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
}
