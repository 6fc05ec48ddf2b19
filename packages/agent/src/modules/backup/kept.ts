import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compile } from '@steward/protocol';
import { HandlerFailure } from '../types.js';
import { Manifest } from './manifest.js';

export const ARCHIVE_FILE = 'archive.tar.gz';
export const MANIFEST_FILE = 'manifest.json';
const WORK_DIR = '.work';

const manifestCheck = compile(Manifest);

export interface KeptBackup {
  dir: string;
  archive: string;
  manifest: Manifest;
}

/**
 * Backups kept on this node: `<dir>/<backupId>/{archive.tar.gz,manifest.json}`. A backup is
 * assembled in `<dir>/.work/` and renamed into place whole, so a listed backup is complete.
 */
export class KeptBackups {
  constructor(readonly dir: string) {
    mkdirSync(join(dir, WORK_DIR), { recursive: true, mode: 0o700 });
  }

  /** A fresh scratch directory on the same filesystem (for renames). */
  async workDir(label: string): Promise<string> {
    const d = join(this.dir, WORK_DIR, `${label}.${randomBytes(6).toString('hex')}`);
    await mkdir(d, { recursive: true, mode: 0o700 });
    return d;
  }

  /** Scratch left by a run or restore that a crash interrupted. */
  async cleanWork(): Promise<void> {
    const work = join(this.dir, WORK_DIR);
    for (const name of await readdir(work)) await rm(join(work, name), { recursive: true, force: true });
  }

  /** Moves an assembled backup (archive + manifest in `work`) into place, replacing one of the same id. */
  async keep(work: string, backupId: string): Promise<KeptBackup> {
    const dest = join(this.dir, backupId);
    await rm(dest, { recursive: true, force: true });
    await rename(work, dest);
    return this.get(backupId);
  }

  async get(backupId: string): Promise<KeptBackup> {
    const dir = join(this.dir, backupId);
    let text: string;
    try {
      text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
    } catch {
      throw new HandlerFailure('backup_not_found', `no backup ${backupId} is kept on this node`, { details: { backupId } });
    }
    let manifest: unknown;
    try {
      manifest = JSON.parse(text);
    } catch {
      throw new HandlerFailure('manifest_invalid', `the manifest of backup ${backupId} is not valid JSON`, { details: { backupId } });
    }
    if (!manifestCheck.check(manifest) || manifest.backupId !== backupId) {
      throw new HandlerFailure('manifest_invalid', `the manifest of backup ${backupId} is damaged`, { details: { backupId } });
    }
    return { dir, archive: join(dir, ARCHIVE_FILE), manifest };
  }

  async has(backupId: string): Promise<boolean> {
    return stat(join(this.dir, backupId, MANIFEST_FILE)).then(
      () => true,
      () => false,
    );
  }

  async list(): Promise<Manifest[]> {
    const out: Manifest[] = [];
    for (const name of await readdir(this.dir)) {
      if (name === WORK_DIR) continue;
      const kept = await this.get(name).catch(() => null);
      if (kept) out.push(kept.manifest);
    }
    return out.sort((a, b) => b.createdAt - a.createdAt);
  }

  /** True when there was something to delete. */
  async remove(backupId: string): Promise<boolean> {
    const dir = join(this.dir, backupId);
    const existed = await stat(dir).then(
      () => true,
      () => false,
    );
    await rm(dir, { recursive: true, force: true });
    return existed;
  }
}
