import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compile, MonitorChecksSetPayload, type CheckInput } from '@steward/protocol';

const FILE = 'checks.json';
const validator = compile(MonitorChecksSetPayload);

/**
 * The check set the control plane sent, kept in the module's data dir so it survives agent
 * restarts. While it exists it wins over the config file's checks; `clear` hands back to config.
 */
export class SavedCheckSet {
  private readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, FILE);
  }

  /** The saved set, or null when none is saved. A damaged file is an error, not silently config. */
  async load(): Promise<CheckInput[] | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    return validator.parse(JSON.parse(text), this.path).checks;
  }

  async save(checks: CheckInput[]): Promise<void> {
    const tmp = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify({ checks }, null, 2) + '\n', { mode: 0o600 });
    await rename(tmp, this.path);
  }

  async clear(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
