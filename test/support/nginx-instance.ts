import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnGroup, type GroupProc } from './process-group.js';
import { waitFor } from './wait.js';

/** A private nginx (own config, prefix, pid file and sites dir) for tests; loopback ports only. */
export class NginxInstance {
  readonly conf: string;
  readonly pidFile: string;
  readonly sitesDir: string;
  readonly tlsDir: string;
  readonly errorLog: string;
  private proc: GroupProc | undefined;

  constructor(readonly dir: string) {
    this.conf = join(dir, 'nginx.conf');
    this.pidFile = join(dir, 'nginx.pid');
    this.sitesDir = join(dir, 'sites');
    this.tlsDir = join(dir, 'tls');
    this.errorLog = join(dir, 'error.log');
  }

  /** The agent's `nginx:` section for this instance. */
  agentYaml(): string {
    return [
      'nginx:',
      `  configFile: ${this.conf}`,
      `  prefix: ${this.dir}`,
      `  sitesDir: ${this.sitesDir}`,
      `  tlsDir: ${this.tlsDir}`,
      `  pidFile: ${this.pidFile}`,
      '',
    ].join('\n');
  }

  async start(): Promise<void> {
    mkdirSync(this.sitesDir, { recursive: true });
    mkdirSync(join(this.dir, 'tmp'), { recursive: true });
    const tmp = (n: string) => join(this.dir, 'tmp', n);
    writeFileSync(
      this.conf,
      [
        // Root in a container: workers as root can read the test's 0700 temp dirs.
        process.getuid?.() === 0 ? 'user root;' : '',
        'worker_processes 1;',
        `pid ${this.pidFile};`,
        `error_log ${this.errorLog} warn;`,
        'events { worker_connections 64; }',
        'http {',
        '  access_log off;',
        '  default_type text/plain;',
        '  types { text/html html; }',
        `  client_body_temp_path ${tmp('body')};`,
        `  proxy_temp_path ${tmp('proxy')};`,
        `  fastcgi_temp_path ${tmp('fastcgi')};`,
        `  uwsgi_temp_path ${tmp('uwsgi')};`,
        `  scgi_temp_path ${tmp('scgi')};`,
        `  include ${this.sitesDir}/*.conf;`,
        '}',
        '',
      ].join('\n'),
    );
    // In the foreground, leading its own process group: stop() takes its workers with it.
    const proc = spawnGroup('nginx', ['-c', this.conf, '-p', this.dir, '-g', 'daemon off;']);
    this.proc = proc;
    await waitFor(
      'nginx pid file',
      () => {
        if (proc.child.exitCode !== null) throw new Error(`nginx did not start: ${proc.output()}`);
        return this.pid() !== null;
      },
      { timeoutMs: 10_000 },
    );
  }

  pid(): number | null {
    if (!existsSync(this.pidFile)) return null;
    const pid = Number.parseInt(readFileSync(this.pidFile, 'utf8'), 10);
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return null;
    }
  }

  /** Stops nginx and every process of its group (safe to call twice, or when it never started). */
  async stop(): Promise<void> {
    await this.proc?.stop();
    this.proc = undefined;
  }
}
