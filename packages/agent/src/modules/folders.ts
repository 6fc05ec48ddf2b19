import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MODULE_NAME_PATTERN = /^[a-z][a-z0-9]*$/;
const modulesDir = dirname(fileURLToPath(import.meta.url));

/** Module folders next to this file; a module is a folder with an index. Sync: config loading needs it. */
export function moduleFolderNames(): string[] {
  return readdirSync(modulesDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && MODULE_NAME_PATTERN.test(e.name))
    .filter((e) => ['index.ts', 'index.js'].some((f) => existsSync(join(modulesDir, e.name, f))))
    .map((e) => e.name)
    .sort();
}
