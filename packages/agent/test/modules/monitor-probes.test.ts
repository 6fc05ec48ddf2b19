import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { probeDisk } from '../../src/modules/monitor/probes/disk.js';
import { probeHttp } from '../../src/modules/monitor/probes/http.js';
import { probeProcess } from '../../src/lib/process-probe.js';
import { probeTcp } from '../../src/modules/monitor/probes/tcp.js';
import { tempDir } from './context.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function closedPort(): Promise<number> {
  const srv = createTcpServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('disk probe (real statfs)', () => {
  it('passes under the threshold and fails over it, naming the mount and its usage', async () => {
    const dir = await tempDir();
    const ok = await probeDisk({ mounts: [dir], maxUsedPercent: 100 });
    expect(ok).toMatchObject({ ok: true });
    expect(ok.message).toMatch(new RegExp(`^${dir} \\d+\\.\\d%$`));
    // Any filesystem with a file on it is more than 0.0001 % used.
    const full = await probeDisk({ mounts: [dir], maxUsedPercent: 0.0001 });
    expect(full.ok).toBe(false);
    expect(full.message).toContain(`over 0.0001% used: ${dir}`);
  });

  it('without mounts measures every real filesystem', async () => {
    const r = await probeDisk({ maxUsedPercent: 100 });
    expect(r.ok).toBe(true);
    expect(r.message).toMatch(/% ?/);
  });

  it('a mount that does not exist fails the probe', async () => {
    const dir = await tempDir();
    await expect(probeDisk({ mounts: [join(dir, 'nope')], maxUsedPercent: 90 })).rejects.toThrow(/ENOENT/);
  });
});

describe('process probe (real processes)', () => {
  async function sleeper(): Promise<{ pid: number; kill: () => Promise<void> }> {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    const exited = new Promise((r) => child.once('exit', r));
    const kill = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    };
    cleanups.push(kill);
    return { pid: child.pid!, kill };
  }

  it('finds a process by name and by pid file, and fails once it is killed', async () => {
    const dir = await tempDir();
    const p = await sleeper();
    const pidFile = join(dir, 'sleep.pid');
    await writeFile(pidFile, `${p.pid}\n`);
    expect(await probeProcess({ name: 'sleep' })).toMatchObject({ ok: true });
    expect(await probeProcess({ pidFile })).toMatchObject({ ok: true, message: `pid ${p.pid} is running` });
    expect(await probeProcess({ pidFile, name: 'sleep' })).toMatchObject({ ok: true });
    await p.kill();
    expect(await probeProcess({ pidFile })).toMatchObject({ ok: false, message: `pid ${p.pid} from ${pidFile} is not running` });
  });

  it('a pid file whose pid belongs to another program fails when a name is given', async () => {
    const dir = await tempDir();
    const pidFile = join(dir, 'x.pid');
    await writeFile(pidFile, `${process.pid}`);
    expect(await probeProcess({ pidFile, name: 'nginx' })).toMatchObject({ ok: false, message: `pid ${process.pid} from ${pidFile} is not nginx` });
  });

  /** A process whose argv[0] is `title`, the way nginx retitles its master and workers. */
  async function titled(title: string): Promise<number> {
    const child = spawn('bash', ['-c', `exec -a "${title}" sleep 30`], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    cleanups.push(() => void child.kill('SIGKILL'));
    // 'spawn' fires once bash is forked, before it has exec'd the retitled sleep; under load the
    // probe could still see "bash -c …". Wait (bounded) until the kernel shows the title.
    for (let i = 0; i < 500; i++) {
      const argv0 = (await readFile(`/proc/${child.pid}/cmdline`, 'utf8').catch(() => '')).split('\0')[0];
      if (argv0 === title) return child.pid!;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`pid ${child.pid} never took the title ${title}`);
  }

  it('by name, a worker left behind without its master does not count as the daemon; a master does', async () => {
    const name = `stw${process.pid}d`;
    const worker = await titled(`${name}: worker process`);
    await titled(`${name}: cache manager process`);
    const stray = await probeProcess({ name });
    expect(stray).toMatchObject({ ok: false });
    expect(stray.message).toContain(`no ${name} master; only helpers it left behind (pid`);
    expect(stray.message).toContain(String(worker));
    const master = await titled(`${name}: master process /usr/sbin/${name} -c /etc/x.conf`);
    expect(await probeProcess({ name })).toEqual({ ok: true, message: `${name} running (pid ${master})` });
  });

  it('a missing or garbage pid file and an unknown name fail with a reason', async () => {
    const dir = await tempDir();
    expect(await probeProcess({ pidFile: join(dir, 'none.pid') })).toMatchObject({ ok: false, message: expect.stringContaining('is missing') });
    await writeFile(join(dir, 'bad.pid'), 'hello');
    expect(await probeProcess({ pidFile: join(dir, 'bad.pid') })).toMatchObject({ ok: false, message: expect.stringContaining('holds no pid') });
    expect(await probeProcess({ name: 'no-such-process-xyz' })).toMatchObject({ ok: false, message: 'no process named no-such-process-xyz' });
  });
});

describe('tcp probe (real sockets)', () => {
  it('passes while something listens and fails when the port is closed', async () => {
    const srv = createTcpServer((s) => s.destroy());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => srv.close(() => r())));
    const { port } = srv.address() as AddressInfo;
    expect(await probeTcp({ host: '127.0.0.1', port, timeoutMs: 2000 })).toMatchObject({ ok: true });
    const closed = await closedPort();
    const r = await probeTcp({ host: '127.0.0.1', port: closed, timeoutMs: 2000 });
    expect(r.ok).toBe(false);
    expect(r.message).toContain('ECONNREFUSED');
  });
});

describe('http probe (real server)', () => {
  let server: HttpServer;
  let base = '';
  const hung: (() => void)[] = [];

  async function start(): Promise<void> {
    server = createHttpServer((req, res) => {
      if (req.url === '/hang') return void hung.push(() => res.destroy());
      const status = Number(req.url?.slice(1) ?? 200);
      if (status === 302) res.setHeader('location', '/500');
      res.writeHead(status).end('x');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    cleanups.push(() => {
      hung.forEach((h) => h());
      return new Promise((r) => server.close(() => r()));
    });
  }

  it('checks the status against the default range, one code, or a range', async () => {
    await start();
    expect(await probeHttp({ url: `${base}/200`, timeoutMs: 2000 })).toMatchObject({ ok: true, message: `${base}/200 answered 200` });
    expect(await probeHttp({ url: `${base}/500`, timeoutMs: 2000 })).toMatchObject({ ok: false, message: `${base}/500 answered 500, expected 200-399` });
    // A redirect is the answer; it is not followed to the 500.
    expect(await probeHttp({ url: `${base}/302`, timeoutMs: 2000 })).toMatchObject({ ok: true });
    expect(await probeHttp({ url: `${base}/204`, expectStatus: 200, timeoutMs: 2000 })).toMatchObject({ ok: false, message: expect.stringContaining('expected 200') });
    expect(await probeHttp({ url: `${base}/404`, expectStatus: [400, 499], method: 'HEAD', timeoutMs: 2000 })).toMatchObject({ ok: true });
  });

  it('fails on a timeout and on a refused connection', async () => {
    await start();
    const slow = await probeHttp({ url: `${base}/hang`, timeoutMs: 200 });
    expect(slow).toEqual({ ok: false, message: `${base}/hang did not answer within 200 ms` });
    const refused = await probeHttp({ url: `http://127.0.0.1:${await closedPort()}/`, timeoutMs: 2000 });
    expect(refused.ok).toBe(false);
    expect(refused.message).toContain('ECONNREFUSED');
  });
});
