import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { afterEach, describe, expect, it } from 'vitest';
import { freshPgDatabase } from '../support/pg.js';
import { freePort, startAgentProcess, startServerProcess, STEWARD_BIN, tempDir, waitOnline, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';

/** `steward ARGS`: exit code and what it printed. */
async function steward(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, [STEWARD_BIN, ...args], { env: { ...process.env, STEWARD_PG_BIN: PG_BIN } });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout + x.stderr };
  }
}

const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

/** The same archive with one member's bytes changed and the manifest left as it was. */
async function tampered(file: string, member: string): Promise<string> {
  const dir = tempDir('steward-tamper-');
  await tar.x({ file, cwd: dir });
  writeFileSync(join(dir, member), readFileSync(join(dir, member), 'utf8') + 'x');
  const out = join(tempDir(), 'tampered.tar.gz');
  await tar.c({ gzip: true, file: out, cwd: dir }, readdirSync(dir));
  return out;
}

const stores = [
  { store: 'sqlite', pg: false },
  ...(process.env.STEWARD_TEST_PG_URL ? [{ store: 'postgres', pg: true }] : []),
];

describe.each(stores)('control-plane backup and restore ($store)', { timeout: 360_000 }, ({ pg }) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });

  it('backs up while serving; after a restore the agent comes back, earlier work is intact, later work is reported', async () => {
    const db = pg ? await freshPgDatabase() : null;
    if (db) cleanup.push(() => db.drop());
    const dbArgs = db ? ['--db', db.url] : [];
    const port = await freePort();
    const dataDir = tempDir('steward-server-');
    let server: ServerProc = await startServerProcess({ port, dataDir, ...(db ? { db: db.url } : {}) });
    cleanup.push(() => server.kill('SIGKILL'));
    const { token } = await server.client.createEnrollmentToken({ uses: 1 });
    const agent = startAgentProcess({ server: server.url, token, name: 'keeper' });
    cleanup.push(() => agent.kill('SIGKILL'));
    await waitOnline(server, 'keeper', agent);
    const nodeId = (await server.client.getNode('keeper')).id;
    const effects = join(tempDir(), 'effects.txt');
    const sh = (script: string) => ({ node: 'keeper', type: 'exec.run', payload: { command: 'sh', args: ['-c', script] } });

    // Before the backup: one finished command, one still running while the backup is taken.
    const done = (await server.client.submitCommand(sh(`echo done >> ${effects}`))).command;
    expect((await server.client.getCommand(done.id, { wait: 30 })).state).toBe('succeeded');
    const during = (await server.client.submitCommand(sh(`sleep 3; echo during >> ${effects}`))).command;
    await waitFor('the running command', async () => (await server.client.getCommand(during.id)).state === 'running');

    const file = join(tempDir(), 'cp.tar.gz');
    const backup = await steward('server', 'backup', file, '--data-dir', dataDir, ...dbArgs, '--json');
    expect(backup.code, backup.out).toBe(0);
    const manifest = JSON.parse(backup.out) as { store: { kind: string; migration: string }; members: { path: string; sha256: string }[] };
    expect(manifest.store.kind).toBe(pg ? 'postgres' : 'sqlite');
    expect(manifest.store.migration).toMatch(/^\d{4}/);
    expect(manifest.members.map((m) => m.path)).toEqual(expect.arrayContaining(['admin.token', 'command-signing.key', pg ? 'steward.pgdump' : 'steward.db']));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The control plane served throughout: the running command still ends.
    expect((await server.client.getCommand(during.id, { wait: 30 })).state).toBe('succeeded');

    // A restore over the live data dir is refused, and changes nothing.
    const live = await steward('server', 'restore', file, '--data-dir', dataDir, '--force', ...dbArgs);
    expect(live.code).toBe(1);
    expect(live.out).toContain(`a control plane (pid ${server.child.pid}) is running`);

    // After the backup point: a node enrolls, and a command is accepted that ends while the control plane is down.
    const { token: lateToken } = await server.client.createEnrollmentToken({ uses: 1 });
    const late = startAgentProcess({ server: server.url, token: lateToken, name: 'latecomer' });
    cleanup.push(() => late.kill('SIGKILL'));
    await waitOnline(server, 'latecomer', late);
    const lateNodeId = (await server.client.getNode('latecomer')).id;
    const acked = (await server.client.submitCommand(sh(`echo acked >> ${effects}`))).command;
    expect((await server.client.getCommand(acked.id, { wait: 30 })).state).toBe('succeeded');
    const after = (await server.client.submitCommand(sh(`sleep 2; echo after >> ${effects}`))).command;
    await waitFor('the post-backup command running', async () => (await server.client.getCommand(after.id)).state === 'running');
    await late.kill('SIGKILL'); // back at the end: its refused retries would trip the per-address auth-failure limit meanwhile
    await server.kill('SIGKILL');
    await waitFor('the post-backup command to run to its end on the node', () => lines(effects).includes('after'));
    rmSync(dataDir, { recursive: true, force: true });

    // Refusals first: a tampered backup and a truncated one write nothing; a non-empty dir needs --force.
    const bad = await steward('server', 'restore', await tampered(file, 'admin.token'), '--data-dir', dataDir, ...dbArgs);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('member admin.token does not match its SHA-256');
    const cut = join(tempDir(), 'cut.tar.gz');
    writeFileSync(cut, readFileSync(file).subarray(0, Math.floor(statSync(file).size / 2)));
    const truncated = await steward('server', 'restore', cut, '--data-dir', dataDir, ...dbArgs);
    expect(truncated.code).toBe(1);
    expect(truncated.out).toContain('backup refused, nothing was changed');
    expect(existsSync(dataDir)).toBe(false);
    expect(readdirSync(dirname(dataDir)).filter((n) => n.includes('.restore-'))).toEqual([]);
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'keep.txt'), 'mine');
    const occupied = await steward('server', 'restore', file, '--data-dir', dataDir, ...dbArgs);
    expect(occupied.code).toBe(1);
    expect(occupied.out).toContain('is not empty');
    expect(readFileSync(join(dataDir, 'keep.txt'), 'utf8')).toBe('mine');
    if (db) {
      // The database still holds the newer state: replacing it needs --force too.
      rmSync(dataDir, { recursive: true });
      const dbFull = await steward('server', 'restore', file, '--data-dir', dataDir, ...dbArgs);
      expect(dbFull.code).toBe(1);
      expect(dbFull.out).toContain('the database already has');
      expect(existsSync(dataDir)).toBe(false);
    }

    const restored = await steward('server', 'restore', file, '--data-dir', dataDir, '--force', ...dbArgs);
    expect(restored.code, restored.out).toBe(0);
    expect(existsSync(join(dataDir, 'keep.txt'))).toBe(false);
    expect(statSync(join(dataDir, 'command-signing.key')).mode & 0o777).toBe(0o600);

    server = await startServerProcess({ port, dataDir, ...(db ? { db: db.url } : {}) });
    // The same node, with the credential it had: no re-enrollment.
    await waitOnline(server, 'keeper', agent);
    expect((await server.client.getNode('keeper')).id).toBe(nodeId);
    // Everything accepted before the backup point is there with its state.
    expect((await server.client.getCommand(done.id)).state).toBe('succeeded');
    expect((await server.client.getCommand(during.id, { wait: 30 })).state).toBe('succeeded');
    // Work after the backup point is reported, not dropped silently: the result the store cannot
    // place, and the command that had ended and been acknowledged before the crash (the agent names
    // what it received after the backup point when the restored control plane asks)…
    const audit = await waitFor('both post-backup commands in the audit log', async () => {
      const items = (await server.client.listAudit({ action: 'command.unknown_after_restore' })).items;
      return items.length >= 2 && items;
    });
    expect(audit.map((e) => e.target).sort()).toEqual([acked.id, after.id].sort());
    expect(audit.find((e) => e.target === after.id)).toMatchObject({ actorId: nodeId, summary: { nodeId, state: 'succeeded' } });
    expect(audit.find((e) => e.target === acked.id)).toMatchObject({ actorId: nodeId, summary: { nodeId } });
    await expect(server.client.getCommand(after.id)).rejects.toMatchObject({ status: 404 });
    expect(server.output()).toContain('command.unknown_after_restore');
    // Each command ran exactly once.
    expect(lines(effects).sort()).toEqual(['acked', 'after', 'done', 'during']);
    // Reported once each, though the agent names them on every reconnect.
    await agent.kill('SIGKILL');
    const again = startAgentProcess({ server: server.url, dataDir: agent.dataDir, name: 'keeper' });
    cleanup.push(() => again.kill('SIGKILL'));
    await waitFor('the agent back', () => again.output().includes('connected to the control plane'));
    const marker = (await server.client.submitCommand(sh('true'))).command;
    expect((await server.client.getCommand(marker.id, { wait: 30 })).state).toBe('succeeded');
    expect((await server.client.listAudit({ action: 'command.unknown_after_restore' })).items).toHaveLength(2);
    // …and the node enrolled after the backup point is refused with a code that says so.
    const lateAgain = startAgentProcess({ server: server.url, dataDir: late.dataDir, name: 'latecomer' });
    cleanup.push(() => lateAgain.kill('SIGKILL'));
    await waitFor('the latecomer told why', () => lateAgain.output().includes(`node ${lateNodeId} is not known to this control plane`));
    expect(server.output()).toMatch(new RegExp(`"nodeId":"${lateNodeId}".*node_unknown`));
  });
});
