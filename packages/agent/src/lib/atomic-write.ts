import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { HandlerFailure } from '../core/errors.js';
import { isMissing } from './fs-failure.js';

async function syncDir(dir: string): Promise<void> {
  // Makes the rename durable; some platforms cannot fsync a directory, which only weakens durability.
  const fh = await open(dir, 'r').catch(() => null);
  await fh?.sync().catch(() => {});
  await fh?.close();
}

/**
 * Replaces `target` so readers see the old or the new content, never a mix: a temp file in the
 * same directory is written, fsynced and renamed over it. Ownership and mode of an existing file
 * are kept unless `mode` is given. Returns changed false when content and mode already match.
 */
export async function atomicWrite(target: string, data: Buffer, mode: number | undefined): Promise<{ changed: boolean }> {
  const dir = dirname(target);
  const parent = await stat(dir).catch((e) => {
    if (isMissing(e)) throw new HandlerFailure('not_found', `parent directory ${dir} does not exist`, { details: { path: dir } });
    throw e;
  });
  if (!parent.isDirectory()) throw new HandlerFailure('not_a_directory', `${dir} is not a directory`, { details: { path: dir } });
  const existing = await stat(target).catch((e) => {
    if (isMissing(e)) return null;
    throw e;
  });
  if (existing?.isDirectory()) throw new HandlerFailure('is_a_directory', `${target} is a directory`, { details: { path: target } });
  if (existing && !existing.isFile()) throw new HandlerFailure('not_a_file', `${target} is not a regular file`, { details: { path: target } });

  const wantMode = mode ?? (existing ? existing.mode & 0o7777 : 0o644);
  if (existing && existing.size === data.length && (existing.mode & 0o7777) === wantMode) {
    if ((await readFile(target)).equals(data)) return { changed: false };
  }
  const tmp = join(dir, `.${basename(target).slice(0, 100)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.chmod(wantMode); // explicit, so the umask does not change the requested mode
    if (existing) await fh.chown(existing.uid, existing.gid).catch(() => {}); // only root may give a file away
    await fh.sync();
    await fh.close();
    await rename(tmp, target);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dir);
  return { changed: true };
}
