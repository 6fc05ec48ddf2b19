import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, packageName, sourceFiles, type ImportRef } from './support/imports.js';

const ROOT = resolve(import.meta.dirname, '..');
const PACKAGES = join(ROOT, 'packages');

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/**
 * What `dir/src` imports that its package.json does not declare, as "file imports package".
 * Code that runs needs the package in `dependencies` (or `peerDependencies`); an import of types
 * only is erased at run time, so `devDependencies` is enough for it.
 */
function undeclared(dir: string, manifest: Manifest = readManifest(dir)): string[] {
  const runtime = new Set([manifest.name, ...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
  const typesToo = new Set([...runtime, ...Object.keys(manifest.devDependencies ?? {})]);
  const refs: ImportRef[] = sourceFiles(join(dir, 'src')).flatMap(importsOf);
  const missing = new Set<string>();
  for (const ref of refs) {
    if (ref.specifier.startsWith('.') || ref.specifier.startsWith('/') || isBuiltin(ref.specifier)) continue;
    const pkg = packageName(ref.specifier);
    if (!(ref.typeOnly ? typesToo : runtime).has(pkg)) missing.add(`${relative(ROOT, ref.file)} imports ${pkg}`);
  }
  return [...missing].sort();
}

const packageDirs = readdirSync(PACKAGES)
  .map((name) => join(PACKAGES, name))
  .filter((dir) => existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src')));

describe('every package declares what its sources import', () => {
  for (const dir of packageDirs) {
    it(relative(ROOT, dir), () => {
      expect(undeclared(dir)).toEqual([]);
    });
  }

  it('names the file and the package when one is missing', () => {
    const dir = join(PACKAGES, 'client');
    const { undici: _, ...rest } = readManifest(dir).dependencies ?? {};
    expect(undeclared(dir, { ...readManifest(dir), dependencies: rest })).toEqual([
      'packages/client/src/artifact-transfer.ts imports undici',
      'packages/client/src/transport.ts imports undici',
      'packages/client/src/undici.ts imports undici',
    ]);
  });

  it('accepts a types-only import from devDependencies but not code', () => {
    const dir = join(PACKAGES, 'client');
    const { '@steward/protocol': _, ...rest } = readManifest(dir).dependencies ?? {};
    const got = undeclared(dir, { ...readManifest(dir), dependencies: rest, devDependencies: { '@steward/protocol': '*' } });
    // Every client file imports only protocol types, except connection.ts, which loads its node helpers.
    expect(got).toEqual(['packages/client/src/connection.ts imports @steward/protocol']);
  });
});
