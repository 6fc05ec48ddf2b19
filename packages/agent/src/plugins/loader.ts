import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AgentModule } from '../modules/types.js';
import { pluginModule } from './contract.js';
import { PluginInvalidError } from './errors.js';
import { ENTRY, type VerifiedPlugin } from './manifest.js';
import { withTimeout } from './timeout.js';

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Imports a verified plugin. Its checked bytes are written to a snapshot folder of their own
 * (`<snapshots>/<name>/<fingerprint>/`) and imported from there, so the code that runs is exactly
 * the code whose checksums matched (a file changed after the check is not picked up), and a new
 * version gets new module URLs for all its files, not only its entry: Node caches ES modules
 * by URL. Old versions stay in memory (ES modules cannot be unloaded); their snapshots are removed.
 */
export async function importPlugin(verified: VerifiedPlugin, snapshots: string): Promise<AgentModule> {
  const name = verified.manifest.name;
  const dir = join(snapshots, name, verified.fingerprint);
  await rm(dir, { recursive: true, force: true });
  for (const [file, data] of verified.files) {
    await mkdir(dirname(join(dir, file)), { recursive: true, mode: 0o700 });
    await writeFile(join(dir, file), data, { mode: 0o600 });
  }
  try {
    const imported = (await withTimeout(name, `import of ${ENTRY}`, import(pathToFileURL(join(dir, ENTRY)).href))) as { default?: unknown };
    return await withTimeout(name, 'its factory', pluginModule(name, imported.default));
  } catch (e) {
    if (e instanceof PluginInvalidError) throw e;
    throw new PluginInvalidError(name, `loading it threw: ${reason(e)}`);
  }
}

/** Removes the snapshots of a plugin except the one in use (none when it was unloaded). */
export async function pruneSnapshots(snapshots: string, name: string, keep?: string): Promise<void> {
  const dir = join(snapshots, name);
  const entries = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(entries.filter((e) => e !== keep).map((e) => rm(join(dir, e), { recursive: true, force: true })));
}
