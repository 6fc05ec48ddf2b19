import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../../src/config.js';
import { ProgressThrottle, type ProgressReport } from '../../src/core/progress.js';
import backupModule from '../../src/modules/backup/index.js';
import { loadModules, type ModuleRegistry } from '../../src/modules/registry.js';
import type { ModuleInstance } from '../../src/modules/types.js';
import type { CommandProgress } from '@steward/protocol';
import { run, tempDir, testConfig, testContext, testLink } from './context.js';

let registry: ModuleRegistry;
beforeAll(async () => {
  registry = await loadModules(['backup']);
});

let root: string;
let config: AgentConfig;
let instance: ModuleInstance;
/** Content bytes and files of the tree a backup takes (the excluded file is not counted). */
let bytes: number;
let files: number;

beforeEach(async () => {
  const tmp = await tempDir();
  root = join(tmp, 'root');
  const site = join(root, 'site');
  bytes = 0;
  files = 0;
  const put = async (rel: string, content: Buffer) => {
    await mkdir(join(site, rel, '..'), { recursive: true });
    await writeFile(join(site, rel), content);
    bytes += content.length;
    files++;
  };
  // One large file (many chunks), many small ones, and a path long enough for a pax header.
  await put('big.bin', randomBytes(3 * 1024 * 1024 + 17));
  for (let i = 0; i < 40; i++) await put(`d${i % 4}/f${i}.txt`, randomBytes(100 + i * 37));
  await put(`${'deep/'.repeat(25)}long-name.txt`, Buffer.from('far down\n'));
  await put('empty', Buffer.alloc(0));
  await writeFile(join(site, 'skip.log'), randomBytes(5000));
  config = testConfig(tmp, (c) => (c.fs.roots = [root]));
  instance = await backupModule.start!({ name: 'backup', config, settings: {}, dataDir: join(tmp, 'backups'), log: pino({ level: 'silent' }), link: testLink(), emit: () => {} });
});

let n = 0;
async function withProgress(type: string, payload: unknown): Promise<{ result: any; reports: ProgressReport[] }> {
  const reports: ProgressReport[] = [];
  const ctx = { ...testContext(config, undefined, { module: instance, progress: reports }), commandId: `cmd_progress${n++}` };
  return { result: await run(registry, `backup.${type}`, payload, ctx), reports };
}

/** Reports grouped by phase, in the order the phases came. */
function phases(reports: ProgressReport[]): Map<string, ProgressReport[]> {
  const out = new Map<string, ProgressReport[]>();
  for (const r of reports) out.set(r.phase, [...(out.get(r.phase) ?? []), r]);
  return out;
}

/** Within a phase nothing goes back, and the phase ends with done at its total. */
function expectClimbsToTotal(list: ProgressReport[], total?: number): void {
  for (let i = 1; i < list.length; i++) {
    expect(list[i]!.done).toBeGreaterThanOrEqual(list[i - 1]!.done);
    expect(list[i]!.filesDone ?? 0).toBeGreaterThanOrEqual(list[i - 1]!.filesDone ?? 0);
  }
  const last = list.at(-1)!;
  expect(last.done).toBe(last.total);
  if (total !== undefined) expect(last.total).toBe(total);
  for (const r of list) if (r.total !== null) expect(r.done).toBeLessThanOrEqual(r.total);
}

describe('backup progress', () => {
  it('a backup reports scanning, archiving and checking, each climbing to its total', async () => {
    const { result, reports } = await withProgress('run', { source: join(root, 'site'), exclude: ['*.log'], destination: 'node' });
    expect(result.fileCount).toBe(files);
    expect(result.totalBytes).toBe(bytes);
    const byPhase = phases(reports);
    expect([...byPhase.keys()]).toEqual(['scanning', 'archiving', 'checking']);
    // Phases do not interleave: each one's reports come together.
    expect(reports.map((r) => r.phase).filter((p, i, a) => p !== a[i - 1])).toEqual(['scanning', 'archiving', 'checking']);

    const scanning = byPhase.get('scanning')!;
    expectClimbsToTotal(scanning, bytes);
    expect(scanning.at(-1)!.filesDone).toBe(files);

    const archiving = byPhase.get('archiving')!;
    expectClimbsToTotal(archiving);
    // The total is known from the start (the scan), and the bar moves while the big file is read.
    expect(archiving[0]).toMatchObject({ done: 0, filesTotal: files });
    expect(archiving.filter((r) => r.done > 0 && r.done < r.total!).length).toBeGreaterThan(10);
    // The estimate from the scan is the uncompressed tar stream: the contents plus headers.
    const estimate = archiving[0]!.total!;
    expect(estimate).toBeGreaterThan(bytes);
    expect(Math.abs(archiving.at(-1)!.total! - estimate)).toBeLessThanOrEqual(2048);
    expect(archiving.at(-1)!.filesDone).toBe(files);
    // Files count as their bytes go in, not all at once when tar finds them.
    expect(archiving.find((r) => r.done > 0)!.filesDone!).toBeLessThan(files);

    expectClimbsToTotal(byPhase.get('checking')!, 2 * result.archiveSize);
  });

  it('a restore reports checking, extracting and verifying, ending at the manifest totals', async () => {
    const { result: made } = await withProgress('run', { source: join(root, 'site'), exclude: ['*.log'], destination: 'node' });
    const { result, reports } = await withProgress('restore', { backupId: made.backupId, target: join(root, 'back') });
    expect(result.fileCount).toBe(files);
    const byPhase = phases(reports);
    expect([...byPhase.keys()]).toEqual(['checking', 'extracting', 'verifying']);
    expectClimbsToTotal(byPhase.get('checking')!, made.archiveSize);
    expectClimbsToTotal(byPhase.get('extracting')!, made.archiveSize);
    const verifying = byPhase.get('verifying')!;
    expectClimbsToTotal(verifying, bytes);
    expect(verifying.filter((r) => r.done > 0 && r.done < bytes).length).toBeGreaterThan(10);
  });
});

describe('progress throttle', () => {
  it('passes one report per interval, every phase change and each phase end', () => {
    let now = 1000;
    const sent: CommandProgress[] = [];
    const t = new ProgressThrottle((p) => sent.push(p), 250, () => now);
    const at = (phase: string, done: number, total: number | null) => ({ phase, unit: 'bytes' as const, done, total });
    t.report(at('scanning', 0, null)); // first: sent
    now += 100;
    t.report(at('scanning', 10, null)); // too soon: dropped
    now += 200;
    t.report(at('scanning', 20, null)); // 300 ms after the last sent: sent
    now += 10;
    t.report(at('archiving', 0, 100)); // new phase: sent
    now += 10;
    t.report(at('archiving', 50, 100)); // too soon: dropped
    now += 10;
    t.report(at('archiving', 100, 100)); // the phase's end: sent
    now += 10;
    t.report(at('archiving', 100, 100)); // the same end again: dropped
    expect(sent.map((p) => [p.phase, p.done, p.at])).toEqual([
      ['scanning', 0, 1000],
      ['scanning', 20, 1300],
      ['archiving', 0, 1310],
      ['archiving', 100, 1330],
    ]);
  });
});
