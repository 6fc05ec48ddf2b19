import { HandlerFailure } from '../core/errors.js';

const BY_ERRNO: Record<string, [code: string, text: string]> = {
  ENOENT: ['not_found', 'no such file or directory'],
  ENOTDIR: ['not_a_directory', 'a path component is not a directory'],
  EISDIR: ['is_a_directory', 'is a directory'],
  EEXIST: ['already_exists', 'already exists'],
  ENOTEMPTY: ['not_empty', 'directory not empty'],
  EACCES: ['permission_denied', 'permission denied'],
  EPERM: ['permission_denied', 'operation not permitted'],
  ELOOP: ['symlink_loop', 'too many levels of symbolic links'],
  ENAMETOOLONG: ['name_too_long', 'file name too long'],
  ENOSPC: ['no_space', 'no space left on device'],
  EROFS: ['read_only', 'read-only file system'],
};

/** Turns a Node fs error into a HandlerFailure with a stable code that names the requested path. */
export function fsFailure(e: unknown, path: string): HandlerFailure {
  if (e instanceof HandlerFailure) return e;
  const errno = (e as NodeJS.ErrnoException).code;
  const known = errno ? BY_ERRNO[errno] : undefined;
  if (known) return new HandlerFailure(known[0], `${path}: ${known[1]}`, { details: { path, errno } });
  return new HandlerFailure('io_error', `${path}: ${(e as Error).message}`, { details: { path, errno } });
}

export async function guard<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw fsFailure(e, path);
  }
}

export function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'ENOENT';
}
