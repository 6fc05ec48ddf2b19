import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from './processes.js';
import { waitFor } from './wait.js';

/** A private pure-ftpd in the foreground on a loopback port, reading its users from a PureDB file. */
export class PureFtpdInstance {
  readonly passwdFile: string;
  readonly dbFile: string;
  readonly pidFile: string;
  port = 0;
  private child: ChildProcess | undefined;
  private output = '';

  constructor(readonly dir: string) {
    this.passwdFile = join(dir, 'pureftpd.passwd');
    this.dbFile = join(dir, 'pureftpd.pdb');
    this.pidFile = join(dir, 'pure-ftpd.pid');
  }

  agentYaml(homeRoot: string): string {
    return ['ftp:', `  passwdFile: ${this.passwdFile}`, `  dbFile: ${this.dbFile}`, `  pidFile: ${this.pidFile}`, `  homeRoots: [${homeRoot}]`, '  minUid: 1000', ''].join('\n');
  }

  async start(): Promise<void> {
    this.port = await freePort();
    // A random passive range, so parallel suites rarely meet; loopback only.
    const low = 30_000 + Math.floor(Math.random() * 2_000) * 10;
    this.child = spawn(
      'pure-ftpd',
      [
        '-S', `127.0.0.1,${this.port}`,
        '-l', `puredb:${this.dbFile}`,
        '-p', `${low}:${low + 9}`,
        '-P', '127.0.0.1', // passive replies name the loopback address
        '-E', // no anonymous logins
        '-A', // every user chrooted
        '-H', // no reverse DNS
        '-u', '1000', // no system accounts
        '-g', this.pidFile,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout!.on('data', (d) => (this.output += d));
    this.child.stderr!.on('data', (d) => (this.output += d));
    await waitFor(
      'pure-ftpd to listen',
      () => {
        if (this.child!.exitCode !== null) throw new Error(`pure-ftpd exited: ${this.output}`);
        return new Promise<boolean>((ok) => {
          const s = connect(this.port, '127.0.0.1', () => (s.end(), ok(true)));
          s.once('error', () => ok(false));
        });
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  }
}
