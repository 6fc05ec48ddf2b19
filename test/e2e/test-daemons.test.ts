import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { NginxInstance } from '../support/nginx-instance.js';
import { PureFtpdInstance } from '../support/pure-ftpd-instance.js';
import { REPO, tempDir } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

/** Live (not zombie) pids whose process group is `pgid`, from /proc. */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      // Fields after the parenthesised name: state ppid pgrp …
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.allSettled(stops.map((s) => s()));
});

describe.runIf(existsSync('/usr/sbin/nginx') && existsSync('/usr/sbin/pure-ftpd'))('the daemons hosting tests start leave nothing behind', { timeout: 60_000 }, () => {
  it('nginx: stop takes a worker whose master was killed hard with it', async () => {
    const nginx = new NginxInstance(tempDir('steward-daemon-'));
    stops.push(() => nginx.stop());
    await nginx.start();
    const master = nginx.pid()!;
    const workers = await waitFor('a worker', () => {
      const w = groupMembers(master).filter((p) => p !== master);
      return w.length > 0 && w;
    });
    process.kill(master, 'SIGKILL');
    await waitFor('the master to be gone', () => !groupMembers(master).includes(master));
    // The stray the issue saw: a worker alive without its master.
    expect(groupMembers(master)).toEqual(expect.arrayContaining(workers));
    await nginx.stop();
    expect(groupMembers(master)).toEqual([]);
  });

  it('pure-ftpd: stop takes its per-session children with it', async () => {
    const ftpd = new PureFtpdInstance(tempDir('steward-daemon-'));
    stops.push(() => ftpd.stop());
    await ftpd.start();
    const sock = connect(ftpd.port, '127.0.0.1');
    const greeting = await new Promise<string>((ok, fail) => {
      sock.once('data', (d) => ok(String(d)));
      sock.once('error', fail);
    });
    expect(greeting).toMatch(/^220/);
    const pgid = Number(readFileSync(ftpd.pidFile, 'utf8'));
    expect(groupMembers(pgid).length).toBeGreaterThan(1);
    await ftpd.stop();
    sock.destroy();
    expect(groupMembers(pgid)).toEqual([]);
  });

  it('a test process that exits without stopping nginx still takes it down', async () => {
    const dir = tempDir('steward-daemon-');
    const script = join(dir, 'leave.mts');
    writeFileSync(
      script,
      `import { NginxInstance } from ${JSON.stringify(join(REPO, 'test/support/nginx-instance.ts'))};
const n = new NginxInstance(${JSON.stringify(join(dir, 'nginx'))});
await n.start();
console.log(n.pid());
process.exit(1);
`,
    );
    const out = await run(join(REPO, 'node_modules/.bin/tsx'), [script]).catch((e: { stdout: string; code: number }) => e);
    expect(out).toMatchObject({ code: 1 });
    const master = Number(out.stdout.trim());
    expect(master).toBeGreaterThan(1);
    await waitFor('the abandoned nginx to be gone', () => groupMembers(master).length === 0, { timeoutMs: 5000 });
  });
});
