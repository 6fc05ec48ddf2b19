import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const MODULES = join(SRC, 'modules');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The module folder a file under src/modules/ belongs to; undefined for modules/*.ts (types, registry). */
function moduleOf(file: string): string | undefined {
  const parts = relative(MODULES, file).split(sep);
  return parts.length > 1 && parts[0] !== '..' ? parts[0] : undefined;
}

/**
 * Imports (static, re-exports and dynamic) from a module's file into another module's folder,
 * as `file:line → specifier`. Shared code belongs in lib/ or system/.
 */
export function crossModuleImports(file: string, text: string): string[] {
  const own = moduleOf(file);
  if (!own) return [];
  const out: string[] = [];
  for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
    if (!ref.fileName.startsWith('.')) continue;
    const other = moduleOf(resolve(dirname(file), ref.fileName));
    if (other === undefined || other === own) continue;
    const line = text.slice(0, ref.pos).split('\n').length;
    out.push(`${relative(SRC, file)}:${line} → ${ref.fileName}`);
  }
  return out;
}

describe('module boundaries', () => {
  it('no file in modules/<a>/ imports from modules/<b>/', () => {
    const offending = tsFiles(MODULES).flatMap((f) => crossModuleImports(f, readFileSync(f, 'utf8')));
    expect(offending).toEqual([]);
  });

  it('names the offending file and line, for static, re-export and dynamic imports', () => {
    const file = join(MODULES, 'backup', 'run.ts');
    const text = [
      "import { a } from '../types.js';",
      "import { b } from '../../lib/confine.js';",
      "import { c } from '../fs/confine.js';",
      "export { d } from '../nginx/render.js';",
      "const e = await import('../service/installer.js');",
      "import { f } from './kept.js';",
    ].join('\n');
    expect(crossModuleImports(file, text)).toEqual([
      'modules/backup/run.ts:3 → ../fs/confine.js',
      'modules/backup/run.ts:4 → ../nginx/render.js',
      'modules/backup/run.ts:5 → ../service/installer.js',
    ]);
    // Files directly under modules/ (types, registry) are the modules' shared contract, not a module.
    expect(crossModuleImports(join(MODULES, 'registry.ts'), "import x from './fs/index.js';")).toEqual([]);
  });
});
