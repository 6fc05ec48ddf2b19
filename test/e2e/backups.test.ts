import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminalCommandState, type Backup, type Command, type CommandProgress } from '@steward/protocol';
import { addAgent, startServerProcess, STEWARD_BIN, waitOnline, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

/** Every entry under `dir`: path → [type, mode, content]. */
async function tree(dir: string): Promise<Record<string, [string, string, string]>> {
  const out: Record<string, [string, string, string]> = {};
  const walk = async (d: string, rel: string) => {
    for (const name of (await readdir(d)).sort()) {
      const abs = join(d, name);
      const path = rel ? `${rel}/${name}` : name;
      const st = await lstat(abs);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[path] = ['link', '', await readlink(abs)];
      else if (st.isDirectory()) {
        out[path] = ['dir', mode, ''];
        await walk(abs, path);
      } else out[path] = ['file', mode, (await readFile(abs)).toString('base64')];
    }
  };
  await walk(dir, '');
  return out;
}

const exists = (p: string) => stat(p).then(() => true, () => false);

describe('backups across real agents', { timeout: 120_000 }, () => {
  let server: ServerProc;
  let a: AgentProc;
  let b: AgentProc;
  let rootA: string;
  let rootB: string;
  let site: string;

  const ended = (c: Command) => server.client.getCommand(c.id, { wait: 60 });
  const recorded = (commandId: string) =>
    waitFor(`backup of ${commandId} recorded`, async () => (await server.client.listBackups()).items.find((x) => x.commandId === commandId));
  async function backupOf(node: string, destination: 'node' | 'control-plane', exclude: string[] = []): Promise<Backup> {
    const { command } = await server.client.runBackup({ node, source: site, destination, exclude });
    const done = await ended(command!);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    return recorded(command!.id);
  }

  beforeAll(async () => {
    server = await startServerProcess();
    [a, b] = await Promise.all([addAgent(server, 'node-a'), addAgent(server, 'node-b')]);
    rootA = join(a.dataDir, 'files');
    rootB = join(b.dataDir, 'files');
    site = join(rootA, 'site');
    await mkdir(join(site, 'assets/img'), { recursive: true });
    await mkdir(join(site, 'logs'), { recursive: true });
    await writeFile(join(site, 'index.html'), '<h1>customer site</h1>\n');
    await writeFile(join(site, 'assets/img/logo.bin'), randomBytes(2 * 1024 * 1024 + 7));
    await writeFile(join(site, 'assets/app.js'), 'console.log(1)\n'.repeat(1000));
    await writeFile(join(site, 'run.sh'), '#!/bin/sh\nexit 0\n');
    await chmod(join(site, 'run.sh'), 0o750);
    await writeFile(join(site, 'secret.conf'), 'password=x\n');
    await chmod(join(site, 'secret.conf'), 0o600);
    await writeFile(join(site, 'logs/access.log'), 'GET /\n'.repeat(100));
    await writeFile(join(site, 'debug.log'), 'noise');
    await symlink('assets/app.js', join(site, 'app.js'));
  }, 90_000);
  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await server?.kill();
  });

  it('a backup to the control plane from node A restores onto node B byte-identical (bytes, modes, links), excluding what was asked', async () => {
    const backup = await backupOf('node-a', 'control-plane', ['*.log']);
    expect(backup).toMatchObject({ destination: 'control-plane', source: site, exclude: ['*.log'], fileCount: 5 });
    expect(backup.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
    // The archive is in the artifact store under its sha.
    expect((await server.client.artifactMeta(backup.archiveSha256)).size).toBe(backup.archiveSize);

    const target = join(rootB, 'restored/site');
    const restore = await ended(await server.client.restoreBackup(backup.id, { node: 'node-b', target }));
    expect(restore.state, JSON.stringify(restore.error)).toBe('succeeded');
    expect(restore.result).toMatchObject({ fileCount: 5, from: 'control-plane' });
    const expected = await tree(site);
    delete expected['debug.log'];
    delete expected['logs/access.log'];
    expect(await tree(target)).toEqual(expected);
    // Nothing left beside the target.
    expect(await readdir(join(rootB, 'restored'))).toEqual(['site']);

    const verify = await ended(await server.client.verifyBackup(backup.id, { node: 'node-b' }));
    expect(verify.state).toBe('succeeded');
    expect(verify.result).toMatchObject({ ok: true, where: 'control-plane' });
  });

  it('a running backup tells its progress, phase by phase, on the event stream and on the command before it ends', async () => {
    const events = await server.client.openEvents({ kinds: ['command.progress', 'command.state'] });
    try {
      const { command } = await server.client.runBackup({ node: 'node-a', source: site, destination: 'control-plane' });
      const progress: CommandProgress[] = [];
      let end: string | undefined;
      // The command's own terminal state event is the marker: progress must all have come before it.
      for await (const { event } of events) {
        if (event.kind === 'command.progress' && event.commandId === command!.id) {
          expect(event).toMatchObject({ type: 'backup.run', nodeId: command!.nodeId });
          progress.push(event.progress);
        }
        if (event.kind === 'command.state' && event.commandId === command!.id && isTerminalCommandState(event.state)) {
          end = event.state;
          break;
        }
      }
      expect(end).toBe('succeeded');
      expect(progress.map((p) => p.phase).filter((p, i, a) => p !== a[i - 1])).toEqual(['scanning', 'archiving', 'checking', 'uploading']);
      // Every phase's end arrives (the agent's throttle keeps them), at its total.
      for (const phase of ['scanning', 'archiving', 'checking', 'uploading']) {
        const last = progress.filter((p) => p.phase === phase).at(-1)!;
        expect(last.done, phase).toBe(last.total);
      }
      expect(progress.find((p) => p.phase === 'scanning' && p.done === p.total)).toMatchObject({ filesDone: 7 });
      // The command keeps the latest report, for clients that look instead of following events.
      expect((await server.client.getCommand(command!.id)).progress).toEqual(progress.at(-1));
    } finally {
      events.close();
    }
  });

  it('a tampered archive in the artifact store is refused on verify and restore, and the target stays untouched', async () => {
    const backup = await backupOf('node-a', 'control-plane');
    const file = join(server.dataDir, 'artifacts', backup.archiveSha256.slice(0, 2), backup.archiveSha256);
    const bytes = await readFile(file);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0x01;
    await writeFile(file, bytes);

    const verify = await ended(await server.client.verifyBackup(backup.id));
    expect(verify.state).toBe('failed');
    expect(verify.error?.code).toBe('archive_checksum_mismatch');

    const target = join(rootB, 'tampered');
    await mkdir(target);
    const restore = await ended(await server.client.restoreBackup(backup.id, { node: 'node-b', target }));
    expect(restore.state).toBe('failed');
    expect(restore.error?.code).toBe('archive_checksum_mismatch');
    expect(await readdir(target)).toEqual([]);
    expect((await readdir(rootB)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('a node-kept backup restores on its node; tampered, it is refused and the target stays untouched; other nodes cannot restore it', async () => {
    const backup = await backupOf('node-a', 'node');
    expect(backup.manifestSha256).toBeNull();
    const target = join(rootA, 'copy');
    const ok = await ended(await server.client.restoreBackup(backup.id, { target }));
    expect(ok.state, JSON.stringify(ok.error)).toBe('succeeded');
    expect(await tree(target)).toEqual(await tree(site));

    await expect(server.client.restoreBackup(backup.id, { node: 'node-b', target: join(rootB, 'x') })).rejects.toMatchObject({ status: 409, code: 'invalid_state' });

    const archive = join(a.dataDir, 'modules/backup', backup.id, 'archive.tar.gz');
    const bytes = await readFile(archive);
    bytes[200] = bytes[200]! ^ 0xff;
    await writeFile(archive, bytes);
    const verify = await ended(await server.client.verifyBackup(backup.id));
    expect(verify.state).toBe('failed');
    expect(verify.error?.code).toBe('archive_checksum_mismatch');
    const target2 = join(rootA, 'copy2');
    const refused = await ended(await server.client.restoreBackup(backup.id, { target: target2 }));
    expect(refused.state).toBe('failed');
    expect(refused.error?.code).toBe('archive_checksum_mismatch');
    expect(await exists(target2)).toBe(false);
  });

  it('a source outside the roots is refused; bad requests are 400 naming the field', async () => {
    const { command } = await server.client.runBackup({ node: 'node-a', source: '/etc', destination: 'node' });
    const done = await ended(command!);
    expect(done.state).toBe('failed');
    expect(done.error?.code).toBe('path_outside_roots');
    const escape = await ended((await server.client.runBackup({ node: 'node-a', source: `${rootA}/../..`, destination: 'node' })).command!);
    expect(escape.error?.code).toBe('path_outside_roots');
    await expect(server.client.runBackup({ node: 'node-a', source: 'relative/path' })).rejects.toMatchObject({ status: 400 });
    await expect(server.client.getBackup('backup_nope')).rejects.toMatchObject({ status: 404 });
    const bad = await server.client.createBackupSchedule({ cron: '61 * * * *', target: { node: 'node-a' }, source: site }).catch((e) => e);
    expect(bad).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(bad.issues.map((i: { field: string }) => i.field)).toEqual(['cron']);
    const badTz = await server.client.createBackupSchedule({ cron: '0 3 * * *', timezone: 'Mars/Olympus', target: { node: 'node-a' }, source: site }).catch((e) => e);
    expect(badTz.issues.map((i: { field: string }) => i.field)).toEqual(['timezone']);
    const badNode = await server.client.createBackupSchedule({ cron: '0 3 * * *', target: { node: 'nope' }, source: site }).catch((e) => e);
    expect(badNode.issues.map((i: { field: string }) => i.field)).toEqual(['target.node']);
    expect((await server.client.listBackupSchedules()).items).toEqual([]);
  });

  it('a schedule every second runs, and retention keepLast=2 leaves 2, deleting what no backup uses', async () => {
    const s = await server.client.createBackupSchedule({ cron: '* * * * * *', target: { node: 'node-a' }, source: site, destination: 'control-plane', keepLast: 2 });
    expect(s.target).toEqual({ node: (await server.client.getNode('node-a')).id });
    try {
      // At least 4 scheduled runs have succeeded, and only the newest 2 of them are kept.
      const made = await waitFor(
        'four scheduled backups',
        async () => {
          const cmds = (await server.client.listCommands({ type: 'backup.run', state: 'succeeded' })).items.filter((c) => (c.payload as { scheduleId?: string }).scheduleId === s.id);
          return cmds.length >= 4 && cmds;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      const kept = await waitFor('retention to leave 2', async () => {
        const items = (await server.client.listBackups({ schedule: s.id })).items;
        return items.length === 2 && items;
      });
      await server.client.deleteBackupSchedule(s.id);
      // Pruned backups' manifests (unique per backup) are gone from the artifact store; the
      // archive, identical for an unchanged source, stays because kept backups use it.
      const keptIds = new Set(kept.map((k) => k.id));
      const pruned = made.map((c) => c.result as { backupId: string; manifestSha256: string; archiveSha256: string }).filter((r) => !keptIds.has(r.backupId));
      expect(pruned.length).toBeGreaterThanOrEqual(2);
      for (const p of pruned) {
        await waitFor(`manifest of ${p.backupId} deleted`, async () => (await server.client.artifactMeta(p.manifestSha256).catch((e) => e)).status === 404);
      }
      for (const k of kept) expect((await server.client.artifactMeta(k.archiveSha256)).sha256).toBe(k.archiveSha256);
    } finally {
      await server.client.deleteBackupSchedule(s.id).catch(() => {});
    }
  });

  it('steward backups run | ls | restore', async () => {
    const env = { ...process.env, STEWARD_SERVER: server.url, STEWARD_TOKEN: server.token };
    const cli = (...args: string[]) => run(process.execPath, [STEWARD_BIN, 'backups', ...args], { env });
    const made = await cli('run', '--node', 'node-a', '--source', site, '--to', 'control-plane', '--exclude', 'logs', '--json');
    const cmd = JSON.parse(made.stdout) as Command;
    expect(cmd.state).toBe('succeeded');
    const id = (cmd.result as { backupId: string }).backupId;
    await recorded(cmd.id);
    expect((await cli('ls', '--node', 'node-a')).stdout).toMatch(new RegExp(`^${id}\\s+node-a\\s`, 'm'));
    const target = join(rootB, 'from-cli');
    const restored = await cli('restore', id, '--node', 'node-b', '--target', target);
    expect(restored.stdout).toContain('every checksum matched');
    expect(await exists(join(target, 'logs'))).toBe(false);
    expect(await readFile(join(target, 'index.html'), 'utf8')).toBe('<h1>customer site</h1>\n');
    const failed = await cli('restore', id, '--node', 'node-b', '--target', target).catch((e) => e);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('not empty');
  });

  it('a deleted backup stays deleted when the control plane reconciles its backup.run results (at every start)', async () => {
    const kept = await backupOf('node-a', 'control-plane');
    const gone = await backupOf('node-a', 'control-plane', ['logs']);
    await server.client.deleteBackup(gone.id);
    expect(((await server.client.getBackup(gone.id).catch((e: unknown) => e)) as { status: number }).status).toBe(404);
    // A restart runs reconcile before it listens: what it finds is what a sweep 30 s later would find.
    await server.kill();
    server = await startServerProcess({ dataDir: server.dataDir, port: server.port, token: server.token });
    await Promise.all([waitOnline(server, 'node-a', a, 60_000), waitOnline(server, 'node-b', b, 60_000)]);
    const ids = (await server.client.listBackups({ node: 'node-a' })).items.map((x) => x.id);
    expect(ids).toContain(kept.id);
    expect(ids).not.toContain(gone.id);
    expect(((await server.client.getBackup(gone.id).catch((e: unknown) => e)) as { status: number }).status).toBe(404);
    const verify = await server.client.verifyBackup(gone.id).catch((e: unknown) => e);
    expect((verify as { status: number }).status).toBe(404);
  });

  it('is described in the OpenAPI document', async () => {
    const doc = (await server.client.openApi()) as { paths: Record<string, Record<string, unknown>> };
    for (const p of ['/api/v1/backups', '/api/v1/backups/run', '/api/v1/backups/{id}/restore', '/api/v1/backup-schedules', '/api/v1/backup-schedules/{id}']) {
      expect(doc.paths[p], p).toBeDefined();
    }
  });
});
