import { join } from 'node:path';
import { connect } from 'node:net';
import { spawnGroup, type GroupProc } from './process-group.js';
import { freePort } from './processes.js';
import { waitFor } from './wait.js';

/** A private pure-ftpd in the foreground on a loopback port, reading its users from a PureDB file. */
export class PureFtpdInstance {
  readonly passwdFile: string;
  readonly dbFile: string;
  readonly pidFile: string;
  port = 0;
  private proc: GroupProc | undefined;

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
    // Its own process group: stop() reaches the per-session children too.
    const proc = spawnGroup(
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
    );
    this.proc = proc;
    await waitFor(
      'pure-ftpd to listen',
      () => {
        if (proc.child.exitCode !== null) throw new Error(`pure-ftpd exited: ${proc.output()}`);
        return new Promise<boolean>((ok) => {
          const s = connect(this.port, '127.0.0.1', () => (s.end(), ok(true)));
          s.once('error', () => ok(false));
        });
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  }

  /** Stops pure-ftpd and every process of its group (safe to call twice, or when it never started). */
  async stop(): Promise<void> {
    await this.proc?.stop();
    this.proc = undefined;
  }
}
