import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compile, Type, ValidationError, type Static } from '@steward/protocol';
import { MODULE_NAME_PATTERN } from '../modules/folders.js';
import { PluginInvalidError } from './errors.js';

export const MANIFEST = 'plugin.json';
export const ENTRY = 'index.mjs';
/** A plugin is small code, not data: past these it is refused rather than read into memory. */
export const MAX_PLUGIN_FILES = 256;
export const MAX_PLUGIN_BYTES = 16 * 1024 * 1024;

/** Relative paths inside the plugin folder: no `..`, no absolute paths, no hidden files. */
const FILE_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*$';

export const PluginManifestSchema = Type.Object(
  {
    name: Type.String({ pattern: MODULE_NAME_PATTERN.source }),
    version: Type.String({ minLength: 1, maxLength: 100 }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    /** Every file the plugin consists of, with its SHA-256 (hex); `index.mjs` among them. */
    sha256: Type.Record(Type.String({ pattern: FILE_PATTERN }), Type.String({ pattern: '^[0-9a-f]{64}$' })),
  },
  { additionalProperties: false },
);
export type PluginManifest = Static<typeof PluginManifestSchema>;
const manifestValidator = compile(PluginManifestSchema);

/** A plugin folder whose every listed file is there and hashes to what the manifest says. */
export interface VerifiedPlugin {
  manifest: PluginManifest;
  /** The verified bytes by relative path: what is loaded is exactly what was checked. */
  files: Map<string, Buffer>;
  /** Changes whenever any file (or the manifest) changes: the plugin's identity for reloads. */
  fingerprint: string;
}

/** Not loadable yet: still being copied (missing manifest or file, checksum mismatch). */
export interface IncompletePlugin {
  incomplete: string;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Reads `<dir>/plugin.json` and every file it lists, checking each against its SHA-256. A folder
 * mid-copy (manifest or a file missing, a hash not matching yet, a manifest cut short) is
 * incomplete, not an error: it is looked at again when it changes. A manifest that is whole but
 * wrong (bad fields, name not the folder's, no index.mjs, too large) is invalid.
 */
export async function readPlugin(dir: string, folder: string): Promise<VerifiedPlugin | IncompletePlugin> {
  const raw = await readOrNull(join(dir, MANIFEST));
  if (!raw) return { incomplete: `no ${MANIFEST} yet` };
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch {
    return { incomplete: `${MANIFEST} is not complete JSON yet` };
  }
  let manifest: PluginManifest;
  try {
    manifest = manifestValidator.parse(doc, MANIFEST);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    throw new PluginInvalidError(folder, e.message, { issues: (e.details as { issues: unknown }).issues });
  }
  if (manifest.name !== folder) throw new PluginInvalidError(folder, `${MANIFEST} names ${JSON.stringify(manifest.name)}; the folder must have the plugin's name`);
  const names = Object.keys(manifest.sha256).sort();
  if (!names.includes(ENTRY)) throw new PluginInvalidError(folder, `${MANIFEST} must list ${ENTRY} (the plugin's entry) in sha256`);
  if (names.length > MAX_PLUGIN_FILES) throw new PluginInvalidError(folder, `more than ${MAX_PLUGIN_FILES} files`);
  const files = new Map<string, Buffer>();
  const print = createHash('sha256').update(raw);
  let total = 0;
  for (const name of names) {
    const data = await readOrNull(join(dir, name));
    if (!data) return { incomplete: `${name} is missing` };
    total += data.length;
    if (total > MAX_PLUGIN_BYTES) throw new PluginInvalidError(folder, `its files are larger than ${MAX_PLUGIN_BYTES} bytes`);
    if (sha256Hex(data) !== manifest.sha256[name]) return { incomplete: `${name} does not match its SHA-256 in ${MANIFEST} (yet)` };
    files.set(name, data);
  }
  return { manifest, files, fingerprint: print.digest('hex').slice(0, 16) };
}

/** The manifest for the files given (what `examples/plugins/*` ship and the agent writes for a single-file artifact). */
export function manifestFor(name: string, version: string, files: Record<string, Buffer | string>): PluginManifest {
  return { name, version, sha256: Object.fromEntries(Object.entries(files).map(([f, data]) => [f, sha256Hex(data)])) };
}
