import { Type, type Static } from '@steward/protocol';

export const MANIFEST_VERSION = 1;

export const ManifestEntry = Type.Object({
  path: Type.String({ description: 'relative to the source, `/`-separated' }),
  type: Type.Union([Type.Literal('file'), Type.Literal('directory'), Type.Literal('symlink')]),
  size: Type.Integer({ minimum: 0 }),
  /** Octal permission bits, e.g. "0644" (symlinks: "0777"). */
  mode: Type.String(),
  sha256: Type.Optional(Type.String({ description: 'files only' })),
  linkTarget: Type.Optional(Type.String({ description: 'symlinks only' })),
});
export type ManifestEntry = Static<typeof ManifestEntry>;

export const Manifest = Type.Object({
  version: Type.Literal(MANIFEST_VERSION),
  backupId: Type.String(),
  nodeId: Type.String(),
  nodeName: Type.String(),
  source: Type.String(),
  exclude: Type.Array(Type.String()),
  scheduleId: Type.Optional(Type.String()),
  createdAt: Type.Integer(),
  archive: Type.Object({ format: Type.Literal('tar.gz'), sha256: Type.String(), size: Type.Integer() }),
  fileCount: Type.Integer({ description: 'regular files' }),
  totalBytes: Type.Integer({ description: 'bytes of regular files' }),
  entries: Type.Array(ManifestEntry),
});
export type Manifest = Static<typeof Manifest>;

export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * How `actual` differs from `expected`, one line per difference (missing, extra, changed
 * type, size, mode, checksum or link target); empty when they agree.
 */
export function compareEntries(expected: readonly ManifestEntry[], actual: readonly ManifestEntry[], checkModes = true): string[] {
  const problems: string[] = [];
  const want = new Map(expected.map((e) => [e.path, e]));
  const seen = new Set<string>();
  for (const a of actual) {
    seen.add(a.path);
    const e = want.get(a.path);
    if (!e) {
      problems.push(`${a.path}: not in the manifest`);
      continue;
    }
    if (e.type !== a.type) problems.push(`${a.path}: is a ${a.type}, the manifest says ${e.type}`);
    else if (e.type === 'file' && e.size !== a.size) problems.push(`${a.path}: ${a.size} bytes, the manifest says ${e.size}`);
    else if (e.type === 'file' && e.sha256 !== a.sha256) problems.push(`${a.path}: SHA-256 ${a.sha256}, the manifest says ${e.sha256}`);
    else if (e.type === 'symlink' && e.linkTarget !== a.linkTarget) problems.push(`${a.path}: links to ${a.linkTarget}, the manifest says ${e.linkTarget}`);
    else if (checkModes && e.type !== 'symlink' && e.mode !== a.mode) problems.push(`${a.path}: mode ${a.mode}, the manifest says ${e.mode}`);
  }
  for (const e of expected) if (!seen.has(e.path)) problems.push(`${e.path}: missing`);
  return problems;
}
