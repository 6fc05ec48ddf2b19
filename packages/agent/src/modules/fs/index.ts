import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, chown, lstat, mkdir, readdir, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FsChmodPayload, FsChownPayload, FsListPayload, FsMkdirPayload, FsPathPayload, FsReadPayload, FsRemovePayload, FsWritePayload } from '@steward/protocol/modules';
import { defineCommand, defineModule, HandlerFailure } from '../types.js';
import { confine } from '../../lib/confine.js';
import { describeEntry, entryType, formatMode, parseMode } from './entry.js';
import { guard, isMissing } from '../../lib/fs-failure.js';
import { atomicWrite } from '../../lib/atomic-write.js';
import { openReadPinned, removeTree, withPinned } from '../../lib/pinned.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
// A FIFO or device would block the open or never end; O_NONBLOCK lets fstat tell first.
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

const list = defineCommand({
  type: 'fs.list',
  description: 'Entries of a directory (not following symlinks), sorted by name.',
  payload: FsListPayload,
  safeToRerun: true,
  handler: (p, ctx) =>
    guard(p.path, async () => {
      const { real, realRoots } = await confine(p.path, ctx.config.fs.roots);
      return withPinned(real, realRoots, { directory: true }, async ({ via }) => {
        const names = (await readdir(via)).sort();
        const limit = p.limit ?? 10_000;
        const entries = await Promise.all(
          names.slice(0, limit).map(async (name) => {
            // An entry removed since readdir is simply gone.
            const st = await lstat(join(via, name)).catch((e) => (isMissing(e) ? null : Promise.reject(e)));
            return st && describeEntry(name, st);
          }),
        );
        return { path: p.path, entries: entries.filter((e) => e !== null), truncated: names.length > limit };
      });
    }),
});

const statCmd = defineCommand({
  type: 'fs.stat',
  description: 'Type, size, mode, owner and mtime of a path (following symlinks).',
  payload: FsPathPayload,
  safeToRerun: true,
  handler: (p, ctx) =>
    guard(p.path, async () => {
      const { real, lexical, realRoots } = await confine(p.path, ctx.config.fs.roots);
      const st = await withPinned(real, realRoots, {}, ({ via }) => stat(via));
      const { type, size, mode, mtime } = describeEntry('', st);
      return { path: p.path, ...(real !== lexical ? { realPath: real } : {}), type, size, mode, mtime, uid: st.uid, gid: st.gid };
    }),
});

const mkdirCmd = defineCommand({
  type: 'fs.mkdir',
  description: 'Ensures a directory exists (like mkdir -p); with mode, also ensures its permission bits.',
  payload: FsMkdirPayload,
  safeToRerun: true,
  handler: (p, ctx) =>
    guard(p.path, async () => {
      const { real, realRoots } = await confine(p.path, ctx.config.fs.roots);
      const mode = p.mode === undefined ? undefined : parseMode(p.mode);
      const st = await stat(real).catch((e) => (isMissing(e) ? null : Promise.reject(e)));
      if (st && !st.isDirectory()) throw new HandlerFailure('not_a_directory', `${p.path} exists and is not a directory`);
      if (st && (mode === undefined || (st.mode & 0o7777) === mode)) return { path: p.path, changed: false };
      // Creating is by path (Node has no mkdirat); the mode is set on the directory as opened and checked.
      if (!st) await mkdir(real, { recursive: true });
      if (mode !== undefined) await withPinned(real, realRoots, { directory: true }, ({ via }) => chmod(via, mode)); // explicit, so the umask does not change it
      return { path: p.path, changed: true };
    }),
});

const chmodCmd = defineCommand({
  type: 'fs.chmod',
  description: 'Sets permission bits from an octal string such as "0644".',
  payload: FsChmodPayload,
  safeToRerun: true,
  handler: (p, ctx) =>
    guard(p.path, async () => {
      const { real, realRoots } = await confine(p.path, ctx.config.fs.roots);
      const mode = parseMode(p.mode);
      return withPinned(real, realRoots, {}, async ({ via }) => {
        const st = await stat(via);
        if ((st.mode & 0o7777) !== mode) await chmod(via, mode);
        return { path: p.path, changed: (st.mode & 0o7777) !== mode, mode: formatMode(mode) };
      });
    }),
});

const chownCmd = defineCommand({
  type: 'fs.chown',
  description: 'Sets the owner and/or group by numeric id; an omitted one is left as it is.',
  payload: FsChownPayload,
  safeToRerun: true,
  handler: (p, ctx) =>
    guard(p.path, async () => {
      const { real, realRoots } = await confine(p.path, ctx.config.fs.roots);
      return withPinned(real, realRoots, {}, async ({ via }) => {
        const st = await stat(via);
        const uid = p.uid ?? st.uid;
        const gid = p.gid ?? st.gid;
        const changed = uid !== st.uid || gid !== st.gid;
        if (changed) await chown(via, uid, gid);
        return { path: p.path, changed, uid, gid };
      });
    }),
});

const remove = defineCommand({
  type: 'fs.remove',
  description: 'Removes a file, symlink or directory (non-empty ones need recursive); a missing path is not an error.',
  payload: FsRemovePayload,
  safeToRerun: true,
  handler: (p, ctx) =>
    guard(p.path, async () => {
      const { entry, holdsRoot, realRoots } = await confine(p.path, ctx.config.fs.roots);
      if (holdsRoot) throw new HandlerFailure('refused_root', `refusing to remove ${p.path}: it is or contains an fs root`);
      // The entry is removed inside its parent as opened and checked, never through a swapped-in link.
      const parent = await withPinned(dirname(entry), realRoots, { directory: true }, async ({ via }) => {
        const name = basename(entry);
        const st = await lstat(join(via, name)).catch((e) => (isMissing(e) ? null : Promise.reject(e)));
        if (!st) return false;
        if (st.isDirectory() && !p.recursive) {
          await rmdir(join(via, name)).catch((e) => {
            if ((e as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw e;
            throw new HandlerFailure('not_empty', `${p.path} is a non-empty directory; set recursive: true to remove it`);
          });
        } else {
          await removeTree(via, name).catch((e) => (isMissing(e) ? undefined : Promise.reject(e)));
        }
        return true;
      }).catch((e) => (isMissing(e) ? false : Promise.reject(e)));
      return { path: p.path, changed: parent };
    }),
});

const read = defineCommand({
  type: 'fs.read',
  description: 'Reads a regular file up to the configured fs.maxReadBytes.',
  payload: FsReadPayload,
  safeToRerun: true,
  handler: (p, ctx) =>
    guard(p.path, async () => {
      const { real, realRoots } = await confine(p.path, ctx.config.fs.roots);
      const max = ctx.config.fs.maxReadBytes;
      const tooLarge = (size: number) =>
        new HandlerFailure('too_large', `${p.path} is ${size} bytes; this node reads at most ${max} (fs.maxReadBytes)`, {
          details: { path: p.path, size, maxReadBytes: max },
        });
      const fh = await openReadPinned(real, READ_FLAGS, realRoots);
      try {
        const st = await fh.stat();
        if (st.isDirectory()) throw new HandlerFailure('is_a_directory', `${p.path} is a directory`);
        if (!st.isFile()) throw new HandlerFailure('not_a_file', `${p.path} is a ${entryType(st)}, not a regular file`);
        if (st.size > max) throw tooLarge(st.size);
        const data = await fh.readFile();
        if (data.length > max) throw tooLarge(data.length); // it grew since fstat
        const encoding = p.encoding ?? 'utf8';
        return { path: p.path, encoding, content: data.toString(encoding), bytes: data.length, sha256: sha256(data) };
      } finally {
        await fh.close();
      }
    }),
});

const write = defineCommand({
  type: 'fs.write',
  description: 'Atomically replaces a file (temp file, fsync, rename); the parent directory must exist.',
  payload: FsWritePayload,
  safeToRerun: true,
  handler: (p, ctx) =>
    guard(p.path, async () => {
      const { real, realRoots } = await confine(p.path, ctx.config.fs.roots);
      let data: Buffer;
      if (p.encoding === 'base64') {
        const compact = p.content.replace(/\s+/g, '');
        if (!BASE64.test(compact)) throw new HandlerFailure('invalid_content', 'content is not valid base64');
        data = Buffer.from(compact, 'base64');
      } else {
        data = Buffer.from(p.content, 'utf8');
      }
      const mode = p.mode === undefined ? undefined : parseMode(p.mode);
      // Temp file and rename happen inside the parent as opened and checked (a missing parent is not_found).
      const { changed } = await withPinned(dirname(real), realRoots, { directory: true }, ({ via }) =>
        atomicWrite(join(via, basename(real)), data, mode),
      ).catch((e) => {
        if (isMissing(e)) throw new HandlerFailure('not_found', `parent directory ${dirname(p.path)} does not exist`, { details: { path: dirname(p.path) } });
        throw e;
      });
      return { path: p.path, changed, bytes: data.length, sha256: sha256(data) };
    }),
});

export default defineModule({
  name: 'fs',
  description: 'File operations confined to the configured fs roots.',
  commands: [list, statCmd, mkdirCmd, chmodCmd, chownCmd, remove, read, write],
});
