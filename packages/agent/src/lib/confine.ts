import { readlink, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { HandlerFailure } from '../core/errors.js';

export interface ConfinedPath {
  /** The path as given, with `.` and `..` resolved. */
  lexical: string;
  /** Every symlink resolved, the last component too: what reads and writes act on. */
  real: string;
  /** The parent resolved, the last component kept: the directory entry itself, which remove acts on. */
  entry: string;
  /** True when the path is, or contains, one of the roots. */
  holdsRoot: boolean;
  /** The roots with their symlinks resolved: what an opened file's real path is checked against (lib/pinned.ts). */
  realRoots: string[];
}

const MAX_LINK_HOPS = 40;

/** True when `path` is `root` or below it. */
export function within(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/**
 * realpath for paths that need not exist yet: the longest existing prefix is resolved and the
 * rest appended, following dangling symlinks to where they would lead.
 */
export async function resolveReal(path: string, hops = 0): Promise<string> {
  const tail: string[] = [];
  let head = path;
  for (;;) {
    try {
      return join(await realpath(head), ...tail);
    } catch (e) {
      if (errno(e) !== 'ENOENT' && errno(e) !== 'ENOTDIR') throw e;
    }
    const link = await readlink(head).catch(() => null);
    if (link !== null) {
      if (hops >= MAX_LINK_HOPS) throw Object.assign(new Error(`too many levels of symlinks at ${head}`), { code: 'ELOOP' });
      // Relative targets count from the link's real directory, as the kernel would resolve them.
      const target = resolve(await realpath(dirname(head)), link);
      return resolveReal(join(target, ...tail), hops + 1);
    }
    const parent = dirname(head);
    if (parent === head) return path;
    tail.unshift(basename(head));
    head = parent;
  }
}

/**
 * Maps a requested path into the configured roots or refuses it. Both the path as written and
 * where its symlinks lead must stay inside a root, so neither `..` nor a link can leave one.
 */
export async function confine(path: string, roots: string[]): Promise<ConfinedPath> {
  if (path.includes('\0')) throw new HandlerFailure('invalid_path', 'path contains a NUL byte');
  if (!isAbsolute(path)) {
    throw new HandlerFailure('path_not_absolute', `path must be absolute, got ${JSON.stringify(path)}`, { details: { path } });
  }
  const outside = () =>
    new HandlerFailure(
      'path_outside_roots',
      roots.length
        ? `${path} is outside the allowed roots (${roots.join(', ')})`
        : `${path} is refused: no fs roots are configured`,
      { details: { path, roots } },
    );
  const lexical = resolve(path);
  const lexicalRoots = roots.map((r) => resolve(r));
  const realRoots = await Promise.all(lexicalRoots.map((r) => resolveReal(r)));
  if (!lexicalRoots.some((r) => within(r, lexical))) throw outside();
  const real = await resolveReal(lexical);
  if (!realRoots.some((r) => within(r, real))) throw outside();
  const parent = dirname(lexical);
  const entry = parent === lexical ? real : join(await resolveReal(parent), basename(lexical));
  const holdsRoot =
    lexicalRoots.some((r) => within(lexical, r)) || realRoots.some((r) => within(real, r) || within(entry, r));
  if (!holdsRoot && !realRoots.some((r) => within(r, entry))) throw outside();
  return { lexical, real, entry, holdsRoot, realRoots };
}
