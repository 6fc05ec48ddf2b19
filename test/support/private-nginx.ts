import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './processes.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);
export const NGINX_BIN = process.env.STEWARD_TEST_NGINX ?? '/usr/sbin/nginx';

/**
 * A private nginx on a loopback port with its own prefix, config and pid file, so tests can
 * kill and restart it without touching any other nginx on the machine.
 */
export class PrivateNginx {
  readonly dir = tempDir('steward-nginx-');
  readonly pidFile = join(this.dir, 'nginx.pid');
  readonly conf = join(this.dir, 'nginx.conf');

  constructor(readonly port: number) {
    for (const d of ['logs', 'tmp']) mkdirSync(join(this.dir, d), { recursive: true });
    const tmp = join(this.dir, 'tmp');
    writeFileSync(
      this.conf,
      `pid ${this.pidFile};
error_log ${join(this.dir, 'logs', 'error.log')};
worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  server {
    listen 127.0.0.1:${port};
    location / { return 200 "private nginx\\n"; }
  }
}
`,
    );
  }

  pid(): number | null {
    if (!existsSync(this.pidFile)) return null;
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  }

  private alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** Starts it (daemonised) and waits until it answers HTTP. */
  async start(): Promise<void> {
    await run(NGINX_BIN, ['-p', this.dir, '-c', this.conf, '-e', join(this.dir, 'logs', 'error.log')]);
    await waitFor(`nginx on port ${this.port}`, async () => (await fetch(`http://127.0.0.1:${this.port}/`)).ok, { timeoutMs: 10_000 });
  }

  /** SIGTERM (fast shutdown: workers stop, the pid file goes) and waits until the master is gone. */
  async kill(): Promise<void> {
    const pid = this.pid();
    if (pid === null) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    await waitFor('nginx to exit', () => !this.alive(pid) && !existsSync(this.pidFile), { timeoutMs: 10_000 });
  }
}
