import { chown, mkdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { livePidFrom } from '../../lib/pid-file.js';
import { SerialQueue } from '../../lib/serial.js';
import { confine } from '../../lib/confine.js';
import { defineCommand, defineModule, HandlerFailure, type CommandContext, type ModuleInstance } from '../types.js';
import { readUsers, type FtpUser } from './passwd-file.js';
import { FtpUserRemovePayload, FtpUserSpec, HOME } from './payload.js';
import { EmptyPayload } from '@steward/protocol/modules';
import { ensureDb, executable, mkdb, purePw } from './pure-pw.js';
import { FtpSettings } from './settings.js';

/** The started module: validated settings and the queue that keeps passwd edits and mkdb one at a time. */
class FtpModule implements ModuleInstance {
  readonly queue = new SerialQueue();
  constructor(readonly settings: FtpSettings) {}
  async stop(): Promise<void> {
    await this.queue.run(async () => {});
  }
}

function instance(ctx: CommandContext): FtpModule {
  if (!(ctx.module instanceof FtpModule)) throw new HandlerFailure('module_not_started', 'the ftp module is not running on this agent');
  return ctx.module;
}

async function requireInstalled(s: FtpSettings): Promise<void> {
  if (!(await executable(s.purePw))) {
    throw new HandlerFailure('pure_ftpd_not_installed', `pure-ftpd is not installed here (${s.purePw} is missing; see ftp.purePw in the agent config)`);
  }
}

function invalid(field: string, why: string): HandlerFailure {
  return new HandlerFailure('invalid_user', `${field}: ${why}`, { details: { issues: [{ field, rule: why }] } });
}

/** An absolute home without `..`, inside a configured root (symlinks included), trailing slashes dropped. */
async function checkHome(s: FtpSettings, home: string): Promise<string> {
  if (!new RegExp(HOME).test(home)) throw invalid('home', `does not match ${HOME}`);
  if (home.split('/').includes('..')) throw invalid('home', 'must not contain a `..` segment');
  const clean = resolve(home);
  if (s.homeRoots.length > 0) {
    await confine(clean, s.homeRoots).catch((e: unknown) => {
      if (e instanceof HandlerFailure && e.code === 'path_outside_roots') throw invalid('home', `${clean} is outside ftp.homeRoots (${s.homeRoots.join(', ')})`);
      throw e;
    });
  }
  return clean;
}

/** Makes the home when it is missing, owned by the user so uploads work; an existing one is left as it is. */
async function ensureHome(home: string, uid: number, gid: number): Promise<boolean> {
  const st = await stat(home).catch((e) => ((e as NodeJS.ErrnoException).code === 'ENOENT' ? null : Promise.reject(e)));
  if (st) {
    if (!st.isDirectory()) throw invalid('home', `${home} exists and is not a directory`);
    return false;
  }
  await mkdir(home, { recursive: true, mode: 0o750 });
  await chown(home, uid, gid);
  return true;
}

const describe = (u: FtpUser) => ({ username: u.username, home: u.home, uid: u.uid, gid: u.gid, chroot: u.chroot, quotaMB: u.quotaMB, maxFiles: u.maxFiles });

const apply = defineCommand({
  type: 'ftp.user.apply',
  description: 'Creates or updates a Pure-FTPd virtual user (through pure-pw, then mkdb); the home is created when missing.',
  payload: FtpUserSpec,
  safeToRerun: true,
  handler: async (p, ctx) => {
    const mod = instance(ctx);
    const s = mod.settings;
    const uid = p.uid ?? s.defaultUid;
    const gid = p.gid ?? s.defaultGid ?? uid;
    if (uid === undefined || gid === undefined) throw invalid('uid', 'give uid (and gid), or set ftp.defaultUid in the agent config');
    if (uid < s.minUid) throw invalid('uid', `must be at least ${s.minUid} (ftp.minUid)`);
    const home = await checkHome(s, p.home);
    await requireInstalled(s);
    return mod.queue.run(async () => {
      const existing = (await readUsers(s.passwdFile)).find((u) => u.username === p.username);
      if (!existing && p.password === undefined) throw invalid('password', 'required to create a user');
      const homeCreated = await ensureHome(home, uid, gid);
      const want = { uid, gid, home, chroot: s.chroot, quotaMB: p.quotaMB ?? null, maxFiles: p.maxFiles ?? null };
      // useradd takes an empty quota as 0 (nothing may be stored), usermod as "no quota": leave it out on create.
      const quota = (flag: string, v: number | null) => (v !== null ? [flag, String(v)] : existing ? [flag, ''] : []);
      const attrs = ['-u', String(uid), '-g', String(gid), s.chroot ? '-d' : '-D', home, ...quota('-N', want.quotaMB), ...quota('-n', want.maxFiles)];
      const same = existing !== undefined && (Object.keys(want) as (keyof typeof want)[]).every((k) => existing[k] === want[k]);
      // pure-pw keeps only a salted slow hash, and Steward keeps nothing, so a given password cannot be
      // compared cheaply: it is always set again and counts as a change.
      if (same && p.password === undefined) return { username: p.username, changed: false, created: false, homeCreated, passwordSet: false };
      if (!existing) {
        await purePw(s, ['useradd', p.username, '-f', s.passwdFile, ...attrs], { password: p.password, signal: ctx.signal });
      } else {
        if (!same) await purePw(s, ['usermod', p.username, '-f', s.passwdFile, ...attrs], { signal: ctx.signal });
        if (p.password !== undefined) await purePw(s, ['passwd', p.username, '-f', s.passwdFile], { password: p.password, signal: ctx.signal });
      }
      await mkdb(s, ctx.signal);
      ctx.log.info({ username: p.username, created: !existing }, 'ftp user applied');
      return { username: p.username, changed: true, created: !existing, homeCreated, passwordSet: p.password !== undefined };
    });
  },
});

const remove = defineCommand({
  type: 'ftp.user.remove',
  description: 'Removes a virtual user (pure-pw userdel, then mkdb); the home directory and its files are kept.',
  payload: FtpUserRemovePayload,
  safeToRerun: true,
  handler: async (p, ctx) => {
    const mod = instance(ctx);
    const s = mod.settings;
    await requireInstalled(s);
    return mod.queue.run(async () => {
      const existing = (await readUsers(s.passwdFile)).find((u) => u.username === p.username);
      if (!existing) return { username: p.username, changed: false };
      await purePw(s, ['userdel', p.username, '-f', s.passwdFile], { signal: ctx.signal });
      await mkdb(s, ctx.signal);
      ctx.log.info({ username: p.username }, 'ftp user removed');
      return { username: p.username, changed: true, homeKept: existing.home };
    });
  },
});

const list = defineCommand({
  type: 'ftp.user.list',
  description: 'Virtual users with home, ids and quotas (never passwords or hashes).',
  payload: EmptyPayload,
  safeToRerun: true,
  handler: async (_p, ctx) => {
    const s = instance(ctx).settings;
    return { passwdFile: s.passwdFile, users: (await readUsers(s.passwdFile)).map(describe) };
  },
});

const status = defineCommand({
  type: 'ftp.status',
  description: 'Whether pure-ftpd and pure-pw are installed, whether pure-ftpd runs, users and database state; makes an empty PureDB when there is none.',
  payload: EmptyPayload,
  safeToRerun: true,
  handler: async (_p, ctx) => {
    const s = instance(ctx).settings;
    const [pw, daemon] = await Promise.all([executable(s.purePw), executable(s.pureFtpd)]);
    if (!pw || !daemon) {
      return { installed: false, running: false, message: `pure-ftpd is not installed (${[!pw && s.purePw, !daemon && s.pureFtpd].filter(Boolean).join(', ')} not found)` };
    }
    const dbCreated = await instance(ctx).queue.run(() => ensureDb(s, ctx.signal));
    const mtime = (f: string) => stat(f).then((st) => st.mtimeMs, () => null);
    const [passwdAt, dbAt, pid, users] = await Promise.all([mtime(s.passwdFile), mtime(s.dbFile), livePidFrom(s.pidFile), readUsers(s.passwdFile)]);
    return {
      installed: true,
      running: pid !== null,
      pid,
      users: users.length,
      passwdFile: s.passwdFile,
      dbFile: s.dbFile,
      dbExists: dbAt !== null,
      // pure-ftpd reads only the PureDB file: one older than the passwd file misses changes.
      dbCurrent: dbAt !== null && (passwdAt === null || dbAt >= passwdAt),
      // Made just now (empty): pure-ftpd can be pointed at it before the first user exists.
      dbCreated,
    };
  },
});

export default defineModule({
  name: 'ftp',
  description: 'Pure-FTPd virtual users through pure-pw; passwords go to pure-pw on stdin and are never kept or returned.',
  settings: FtpSettings,
  start: async (rt) => new FtpModule(rt.settings as FtpSettings),
  commands: [apply, remove, list, status],
});
