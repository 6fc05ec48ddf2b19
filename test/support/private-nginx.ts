import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnGroup, type GroupProc } from './process-group.js';
import { tempDir } from './processes.js';
import { waitFor } from './wait.js';

export const NGINX_BIN = process.env.STEWARD_TEST_NGINX ?? '/usr/sbin/nginx';

/**
 * A private nginx on a loopback port with its own prefix, config and pid file, so tests can
 * kill and restart it without touching any other nginx on the machine.
 */
export class PrivateNginx {
  readonly dir = tempDir('steward-nginx-');
  readonly pidFile = join(this.dir, 'nginx.pid');
  readonly conf = join(this.dir, 'nginx.conf');
  private proc: GroupProc | undefined;

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

  /** Starts it (in the foreground, leading its own process group) and waits until it answers HTTP. */
  async start(): Promise<void> {
    const proc = spawnGroup(NGINX_BIN, ['-p', this.dir, '-c', this.conf, '-e', join(this.dir, 'logs', 'error.log'), '-g', 'daemon off;']);
    this.proc = proc;
    await waitFor(
      `nginx on port ${this.port}`,
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`nginx did not start: ${proc.output()}`);
        return (await fetch(`http://127.0.0.1:${this.port}/`).catch(() => null))?.ok;
      },
      { timeoutMs: 10_000 },
    );
  }

  /** SIGTERM to the whole group (master and workers); returns when none is left and the pid file is gone. */
  async kill(): Promise<void> {
    await this.proc?.stop();
    this.proc = undefined;
    await waitFor('the nginx pid file to go', () => !existsSync(this.pidFile), { timeoutMs: 10_000 });
  }
}
