import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openArtifactStore } from '../../src/artifacts/feature.js';
import type { ArtifactService } from '../../src/artifacts/service.js';
import type { OutputChunk } from '../../src/recordings/asciicast.js';
import { RecordingService, type OutputReader } from '../../src/recordings/service.js';
import { insertOutputChunks, outputAfter } from '../../src/store/queries/command-output.js';
import { insertCommandOnce, transitionCommand } from '../../src/store/queries/commands.js';
import { getSessionRecording, unrecordedSessionCommands } from '../../src/store/queries/session-recordings.js';
import type { CommandsTable } from '../../src/store/schema.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { testContext } from '../helpers/context.js';
import { commandRow, T0 } from '../helpers/rows.js';

const DAY = 86_400_000;

describe.each(storeTargets())('session recordings on $name', (target) => {
  const db = useFreshStore(target);
  let dir: string;
  let artifacts: ArtifactService | undefined;
  const clock = { now: T0 };
  // The command output store itself (what the agents' chunks go into).
  const reader: OutputReader = (id, after, limit) => outputAfter(db.store.db, id, after, limit);
  const output = { set: (id: string, chunks: OutputChunk[]) => insertOutputChunks(db.store.db, chunks.map((c) => ({ command_id: id, ...c }))) };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'steward-rec-'));
    clock.now = T0;
    artifacts = undefined;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function service(retentionMs: number | null = 90 * DAY): RecordingService {
    const ctx = testContext(db.store, clock);
    artifacts ??= openArtifactStore(ctx, dir);
    return new RecordingService(ctx, artifacts, reader, retentionMs);
  }

  async function session(over: Partial<CommandsTable> = {}, ran = true): Promise<CommandsTable> {
    const cmd = commandRow({ node_id: 'node_a', type: 'shell.session', payload: JSON.stringify({ cols: 80, rows: 24, term: 'xterm-256color' }), ...over });
    await insertCommandOnce(db.store.db, cmd);
    if (ran) {
      await transitionCommand(db.store.db, cmd.id, 'running', { started_at: clock.now + 100 });
      await transitionCommand(db.store.db, cmd.id, 'succeeded', { finished_at: clock.now + 5_000, result: JSON.stringify({ exitCode: 5, signal: null, durationMs: 4900 }) });
    } else {
      await transitionCommand(db.store.db, cmd.id, 'cancelled', { finished_at: clock.now + 50 });
    }
    return cmd;
  }

  async function castOf(svc: RecordingService, id: string): Promise<string> {
    const { stream } = await svc.open(id);
    const parts: Buffer[] = [];
    for await (const p of stream) parts.push(p as Buffer);
    return Buffer.concat(parts).toString('utf8');
  }

  it('writes an ended session once when two replicas race; keeps who opened it; replays the output', async () => {
    const a = service();
    const b = service();
    const cmd = commandRow({ node_id: 'node_a', type: 'shell.session', payload: JSON.stringify({ cols: 80, rows: 24 }) });
    a.onSubmitted(cmd, { tokenId: 'tok_1', name: 'alice' });
    await insertCommandOnce(db.store.db, cmd);
    // The note is written in the background: wait for it before the session ends.
    for (let i = 0; i < 100 && !(await db.store.db.selectFrom('session_recordings').select('command_id').executeTakeFirst()); i++) await new Promise((r) => setTimeout(r, 10));
    await transitionCommand(db.store.db, cmd.id, 'running', { started_at: T0 + 100 });
    await transitionCommand(db.store.db, cmd.id, 'succeeded', { finished_at: T0 + 3_000, result: JSON.stringify({ exitCode: 5, signal: null, durationMs: 2900 }) });
    await output.set(cmd.id, [
      { seq: 0, stream: 'resize', data: '80x24', at: T0 + 200 },
      { seq: 1, stream: 'pty', data: '$ echo hi\r\nhi\r\n', at: T0 + 700 },
      { seq: 2, stream: 'resize', data: '100x30', at: T0 + 900 },
      { seq: 3, stream: 'pty', data: '$ exit 5\r\n', at: T0 + 1_200 },
    ]);
    const wrote = await Promise.all([a.record(cmd.id), b.record(cmd.id)]);
    expect(wrote.filter(Boolean)).toEqual([true]);
    const rec = await a.get(cmd.id);
    expect(rec).toMatchObject({ id: cmd.id, nodeId: 'node_a', openedBy: { tokenId: 'tok_1', name: 'alice' }, startedAt: T0 + 100, endedAt: T0 + 3_000, durationMs: 2_900, exitCode: 5, state: 'succeeded' });
    const cast = await castOf(b, cmd.id);
    expect(rec.bytes).toBe(Buffer.byteLength(cast));
    const [header, ...events] = cast.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(header).toMatchObject({ version: 2, width: 80, height: 24, env: { TERM: 'xterm-256color' } });
    expect(events).toEqual([
      [0.5, 'o', '$ echo hi\r\nhi\r\n'],
      [0.7, 'r', '100x30'],
      [1, 'o', '$ exit 5\r\n'],
    ]);
    // Recorded again (a late result, a reconcile): nothing changes.
    expect(await a.record(cmd.id)).toBe(false);
    expect((await a.list({})).map((s) => s.id)).toEqual([cmd.id]);
  });

  it('a session that never ran gets no recording and is not looked for again; another command type is ignored', async () => {
    const svc = service();
    const never = await session({}, false);
    const other = commandRow({ node_id: 'node_a', type: 'exec.run' });
    await insertCommandOnce(db.store.db, other);
    expect(await svc.record(never.id)).toBe(true);
    expect(await svc.record(other.id)).toBe(false);
    expect(await svc.list({})).toEqual([]);
    await expect(svc.get(never.id)).rejects.toMatchObject({ code: 'not_found' });
    expect(await unrecordedSessionCommands(db.store.db, 0)).toEqual([]);
  });

  it('catch-up records ended sessions nobody recorded, and takes over a stale claim', async () => {
    const svc = service();
    const s1 = await session();
    const s2 = await session();
    await output.set(s1.id, [{ seq: 0, stream: 'pty', data: 'one', at: T0 + 200 }]);
    // s2 was claimed by a replica that died before writing.
    await db.store.db.insertInto('session_recordings').values({ command_id: s2.id, node_id: 'node_a', opened_by: null, opened_by_name: null, started_at: T0, ended_at: null, end_state: null, exit_code: null, bytes: 0, artifact_sha256: null, claimed_at: T0, created_at: T0 }).execute();
    await svc.reconcile();
    expect((await svc.list({})).map((s) => s.id)).toEqual([s1.id]);
    clock.now = T0 + 10 * 60_000;
    await svc.reconcile();
    expect((await svc.list({})).map((s) => s.id).sort()).toEqual([s1.id, s2.id].sort());
    expect(await castOf(svc, s1.id)).toContain('"one"');
  });

  it('delete removes the file and the recording stays gone (not rebuilt from the output)', async () => {
    const svc = service();
    const s = await session();
    await output.set(s.id, [{ seq: 0, stream: 'pty', data: 'secret', at: T0 + 200 }]);
    await svc.record(s.id);
    const { sha256 } = await svc.get(s.id);
    expect(await artifacts!.has(sha256)).toBe(true);
    await svc.remove(s.id);
    expect(await artifacts!.has(sha256)).toBe(false);
    expect(existsSync(join(dir, 'artifacts', sha256))).toBe(false);
    await expect(svc.remove(s.id)).rejects.toMatchObject({ code: 'not_found' });
    await svc.reconcile();
    expect(await getSessionRecording(db.store.db, s.id)).toBeUndefined();
  });

  it('retention deletes recordings that ended before it, with their files; off keeps them', async () => {
    const old = await session();
    await output.set(old.id, [{ seq: 0, stream: 'pty', data: 'old', at: T0 + 200 }]);
    clock.now = T0 + 2 * DAY;
    const fresh = await session();
    await output.set(fresh.id, [{ seq: 0, stream: 'pty', data: 'fresh', at: clock.now + 200 }]);
    const svc = service(DAY);
    await svc.record(old.id);
    await svc.record(fresh.id);
    const oldSha = (await svc.get(old.id)).sha256;
    expect(await service(null).applyRetention(clock.now + 10 * DAY)).toBe(0);
    expect(await svc.applyRetention(clock.now)).toBe(1);
    expect((await svc.list({})).map((s) => s.id)).toEqual([fresh.id]);
    expect(await artifacts!.has(oldSha)).toBe(false);
    expect(await artifacts!.has((await svc.get(fresh.id)).sha256)).toBe(true);
  });

  it('lists newest first, by node, and pages with before', async () => {
    const svc = service();
    const ids: string[] = [];
    for (const [i, node] of ['node_a', 'node_b', 'node_a'].entries()) {
      clock.now = T0 + i * 60_000;
      const s = await session({ node_id: node });
      await output.set(s.id, [{ seq: 0, stream: 'pty', data: `s${i}`, at: clock.now + 200 }]);
      await svc.record(s.id);
      ids.push(s.id);
    }
    expect((await svc.list({})).map((s) => s.id)).toEqual([...ids].reverse());
    expect((await svc.list({}, 'node_a')).map((s) => s.id)).toEqual([ids[2], ids[0]]);
    const first = await svc.list({ limit: 2 });
    expect((await svc.list({ before: first.at(-1)!.startedAt })).map((s) => s.id)).toEqual([ids[0]]);
  });
});
