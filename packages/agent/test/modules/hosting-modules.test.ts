import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import ftpModule from '../../src/modules/ftp/index.js';
import { parsePasswd } from '../../src/modules/ftp/passwd-file.js';
import nginxModule from '../../src/modules/nginx/index.js';
import { createRegistry, resolveModuleSettings } from '../../src/modules/registry.js';
import type { AgentModule } from '../../src/modules/types.js';
import { failure, run, tempDir, testConfig, testContext, testLink } from './context.js';

const registry = createRegistry([nginxModule, ftpModule]);

/** Starts a module with its section resolved the way the agent does, and a context for its commands. */
async function started(mod: AgentModule, section: Record<string, unknown>) {
  const dir = await tempDir();
  const config = testConfig(dir);
  const settings = resolveModuleSettings([mod], { [mod.name]: section })[mod.name];
  const instance = await mod.start!({ name: mod.name, config, settings, dataDir: dir, log: pino({ level: 'silent' }), link: testLink(), emit: () => {} });
  return { dir, ctx: testContext(config, undefined, { module: instance }) };
}

describe('when nginx or pure-ftpd is absent', () => {
  it('nginx.status says not installed and apply fails cleanly without writing', async () => {
    const { dir, ctx } = await started(nginxModule, { binary: '/nonexistent/nginx', sitesDir: '/tmp/never-sites', tlsDir: '/tmp/never-tls' });
    expect(await run(registry, 'nginx.status', {}, ctx)).toMatchObject({ installed: false, running: false });
    const f = await failure(run(registry, 'nginx.site.apply', { name: 'a', serverNames: ['a.test'], listen: { port: 8080 } }, ctx));
    expect(f.code).toBe('nginx_not_installed');
    expect(existsSync('/tmp/never-sites')).toBe(false);
    expect(dir).toBeTruthy();
  });

  it('ftp.status says not installed; apply fails with pure_ftpd_not_installed', async () => {
    const { dir, ctx } = await started(ftpModule, { purePw: '/nonexistent/pure-pw', pureFtpd: '/nonexistent/pure-ftpd', homeRoots: [] });
    expect(await run(registry, 'ftp.status', {}, ctx)).toMatchObject({ installed: false, running: false });
    const f = await failure(run(registry, 'ftp.user.apply', { username: 'u', password: 'p', home: join(dir, 'u'), uid: 5000 }, ctx));
    expect(f.code).toBe('pure_ftpd_not_installed');
  });

  it('module settings are checked at start with the field named', () => {
    const issues = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as { details: { issues: { field: string }[] } }).details.issues.map((i) => i.field);
      }
      return [];
    };
    expect(issues(() => resolveModuleSettings([nginxModule], { nginx: { sitesDir: 'relative' } }))).toEqual(['nginx.sitesDir']);
    expect(issues(() => resolveModuleSettings([ftpModule], { ftp: { minUid: 0 } }))).toEqual(['ftp.minUid']);
  });
});

describe('pure-pw passwd file', () => {
  it('parses users without their hashes; chroot homes lose the /./ marker', () => {
    const users = parsePasswd(
      'bob:$argon2id$v=19$m=8192,t=3,p=1$abc$def:2001:2002::/srv/ftp/bob/./::::::7:5242880:::::\n' + 'al:$2y$hash:2003:2003::/srv/ftp/al::::::::::::\n',
    );
    expect(users).toEqual([
      { username: 'bob', uid: 2001, gid: 2002, home: '/srv/ftp/bob', chroot: true, quotaMB: 5, maxFiles: 7 },
      { username: 'al', uid: 2003, gid: 2003, home: '/srv/ftp/al', chroot: false, quotaMB: null, maxFiles: null },
    ]);
    expect(JSON.stringify(users)).not.toContain('argon2');
  });

  it.each([
    ['username', { username: 'a:b' }],
    ['username', { username: '-f' }],
    ['username', { username: 'a b' }],
    ['password', { password: 'a\nb' }],
    ['home', { home: 'srv/ftp/x' }],
    ['home', { home: '/srv/ftp/x:y' }],
    ['uid', { uid: 0 }],
  ])('refuses a bad %s at validation', (field, patch) => {
    expect(() => registry.validatePayload('ftp.user.apply', { username: 'u', password: 'p', home: '/srv/ftp/u', ...patch })).toThrow(field);
  });
});

describe.runIf(existsSync('/usr/bin/pure-pw'))('ftp module with the real pure-pw', { timeout: 60_000 }, () => {
  it('creates, leaves alone, updates and removes a user; never returns the password or hash', async () => {
    const home = await tempDir();
    const files = await tempDir();
    const section = { passwdFile: join(files, 'p.passwd'), dbFile: join(files, 'p.pdb'), homeRoots: [home], minUid: 1000 };
    const { ctx: c } = await started(ftpModule, section);
    const password = 'Pa55-word-never-shown';
    const created = await run(registry, 'ftp.user.apply', { username: 'dave', password, home: join(home, 'dave'), uid: 65534 }, c);
    expect(created).toEqual({ username: 'dave', changed: true, created: true, homeCreated: true, passwordSet: true });
    expect((await stat(join(home, 'dave'))).uid).toBe(65534);
    expect(existsSync(section.dbFile)).toBe(true);
    const passwd = await readFile(section.passwdFile, 'utf8');
    expect(passwd).not.toContain(password);
    const hash = passwd.split(':')[1]!;
    const same = await run(registry, 'ftp.user.apply', { username: 'dave', home: join(home, 'dave'), uid: 65534 }, c);
    expect(same).toMatchObject({ changed: false });
    const listed = await run(registry, 'ftp.user.list', {}, c);
    expect(listed.users).toEqual([{ username: 'dave', home: join(home, 'dave'), uid: 65534, gid: 65534, chroot: true, quotaMB: null, maxFiles: null }]);
    expect(JSON.stringify([created, same, listed])).not.toContain(hash.slice(-20));
    const outside = await failure(run(registry, 'ftp.user.apply', { username: 'eve', password, home: join(files, 'eve'), uid: 65534 }, c));
    expect(outside.code).toBe('invalid_user');
    expect(outside.message).toContain('outside ftp.homeRoots');
    const noPassword = await failure(run(registry, 'ftp.user.apply', { username: 'frank', home: join(home, 'frank'), uid: 65534 }, c));
    expect(noPassword.message).toContain('password: required');
    const lowUid = await failure(run(registry, 'ftp.user.apply', { username: 'frank', password, home: join(home, 'frank'), uid: 999 }, c));
    expect(lowUid.message).toContain('uid: must be at least 1000');
    expect(await run(registry, 'ftp.user.remove', { username: 'dave' }, c)).toMatchObject({ changed: true, homeKept: join(home, 'dave') });
    expect(await run(registry, 'ftp.user.remove', { username: 'dave' }, c)).toEqual({ username: 'dave', changed: false });
    expect(parsePasswd(await readFile(section.passwdFile, 'utf8'))).toEqual([]);
  });
});

describe.runIf(existsSync('/usr/bin/pure-pw'))('ftp module before its first user', { timeout: 60_000 }, () => {
  it('ftp.status makes an empty passwd file and PureDB, so pure-ftpd can be pointed at it; a second status changes nothing', async () => {
    const files = await tempDir();
    const section = { passwdFile: join(files, 'etc', 'p.passwd'), dbFile: join(files, 'etc', 'p.pdb'), homeRoots: [files] };
    const { ctx } = await started(ftpModule, section);
    const first = await run(registry, 'ftp.status', {}, ctx);
    expect(first).toMatchObject({ installed: true, users: 0, dbExists: true, dbCurrent: true, dbCreated: true });
    expect((await stat(section.dbFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(section.passwdFile, 'utf8')).toBe('');
    const dbAt = (await stat(section.dbFile)).mtimeMs;
    expect(await run(registry, 'ftp.status', {}, ctx)).toMatchObject({ dbExists: true, dbCurrent: true, dbCreated: false });
    expect((await stat(section.dbFile)).mtimeMs).toBe(dbAt);
  });

  it('ftp.user.list on a fresh node lists nobody and creates nothing', async () => {
    const files = await tempDir();
    const { ctx } = await started(ftpModule, { passwdFile: join(files, 'p.passwd'), dbFile: join(files, 'p.pdb'), homeRoots: [files] });
    expect(await run(registry, 'ftp.user.list', {}, ctx)).toEqual({ passwdFile: join(files, 'p.passwd'), users: [] });
    expect(existsSync(join(files, 'p.pdb'))).toBe(false);
  });
});

describe.runIf(existsSync('/usr/sbin/nginx'))('nginx module with the real nginx binary (not running)', () => {
  async function privateNginx() {
    const dir = await tempDir();
    await mkdir(join(dir, 'sites'));
    await writeFile(
      join(dir, 'nginx.conf'),
      `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n  access_log off;\n  include ${dir}/sites/*.conf;\n}\n`,
    );
    const section = { configFile: join(dir, 'nginx.conf'), prefix: dir, sitesDir: join(dir, 'sites'), tlsDir: join(dir, 'tls'), pidFile: join(dir, 'nginx.pid') };
    const { ctx } = await started(nginxModule, section);
    return { dir, ctx, sites: section.sitesDir };
  }
  const site = { name: 'a', serverNames: ['a.test'], listen: { port: 18080, address: '127.0.0.1' }, root: '/srv/a' };

  it('writes and tests the site; with nginx stopped there is nothing to reload', async () => {
    const { ctx, sites } = await privateNginx();
    expect(await run(registry, 'nginx.site.apply', site, ctx)).toMatchObject({ changed: true, reloaded: false, running: false });
    expect(await run(registry, 'nginx.site.apply', site, ctx)).toMatchObject({ changed: false });
    expect((await stat(join(sites, 'a.conf'))).mode & 0o777).toBe(0o644);
    expect(await run(registry, 'nginx.status', {}, ctx)).toMatchObject({ installed: true, running: false, configOk: true });
  });

  it('a new site nginx -t refuses is removed again, and the error carries the nginx message', async () => {
    const { ctx, sites } = await privateNginx();
    const bad = { ...site, name: 'b', locations: [{ path: '/x/', root: '/r' }, { path: '/x/', root: '/r' }] };
    const f = await failure(run(registry, 'nginx.site.apply', bad, ctx));
    expect(f.code).toBe('nginx_test_failed');
    expect(f.message).toContain('duplicate location "/x/"');
    expect(existsSync(join(sites, 'b.conf'))).toBe(false);
  });

  it('refuses to overwrite or remove a file Steward did not write', async () => {
    const { ctx, sites } = await privateNginx();
    await writeFile(join(sites, 'a.conf'), '# hand-made\n');
    expect((await failure(run(registry, 'nginx.site.apply', site, ctx))).code).toBe('not_managed');
    expect((await failure(run(registry, 'nginx.site.remove', { name: 'a' }, ctx))).code).toBe('not_managed');
    expect(await readFile(join(sites, 'a.conf'), 'utf8')).toBe('# hand-made\n');
    expect((await run(registry, 'nginx.site.list', {}, ctx)).sites).toEqual([]);
  });
});
