import { isBuiltin } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageName, resolveImport, runtimeGraph } from './support/imports.js';

const ROOT = resolve(import.meta.dirname, '..');
const HERE = join(ROOT, 'test', 'browser-safe.test.ts');

/** What loads at run time from `entry`: node builtins (each with the file that imports it) and npm packages. */
function reach(entry: string): { builtins: string[]; packages: string[] } {
  const { external } = runtimeGraph(entry);
  const builtins = external.filter((r) => isBuiltin(r.specifier)).map((r) => `${relative(ROOT, r.file)} imports ${r.specifier}`).sort();
  const packages = [...new Set(external.filter((r) => !isBuiltin(r.specifier)).map((r) => packageName(r.specifier)))].sort();
  return { builtins, packages };
}

function entry(specifier: string): string {
  const file = resolveImport(specifier, HERE);
  if (!file) throw new Error(`${specifier} does not resolve`);
  return file;
}

// Entries the dashboard bundle may load, and the npm packages each may pull in with them.
const BROWSER_ENTRIES: Record<string, string[]> = {
  '@steward/protocol': ['@sinclair/typebox'],
  '@steward/protocol/labels': [],
  '@steward/protocol/backoff': [],
  '@steward/client/browser': [],
};

describe('browser-safe entries', () => {
  for (const [specifier, packages] of Object.entries(BROWSER_ENTRIES)) {
    it(`${specifier} reaches no node builtin`, () => {
      const got = reach(entry(specifier));
      expect(got.builtins).toEqual([]);
      expect(got.packages).toEqual(packages);
    });
  }

  it('the dashboard (packages/web/src/main.tsx) reaches no node builtin', () => {
    const got = reach(join(ROOT, 'packages/web/src/main.tsx'));
    expect(got.builtins).toEqual([]);
    expect(got.packages).toEqual(['@tanstack/react-virtual', '@xterm/addon-fit', '@xterm/xterm', 'asciinema-player', 'react', 'react-dom', 'uplot']);
  });

  it('finds builtins where they are: the node-only helpers', () => {
    const got = reach(entry('@steward/protocol/node'));
    expect(got.builtins).toEqual([
      'packages/protocol/src/node/atomic-file.ts imports node:fs',
      'packages/protocol/src/node/atomic-file.ts imports node:path',
      'packages/protocol/src/node/config-revision.ts imports node:crypto',
      'packages/protocol/src/node/local-server.ts imports node:os',
      'packages/protocol/src/node/local-server.ts imports node:path',
      'packages/protocol/src/node/secret.ts imports node:crypto',
      'packages/protocol/src/node/signing.ts imports node:crypto',
      'packages/protocol/src/node/tls-pin.ts imports node:crypto',
      'packages/protocol/src/node/webhook-signature.ts imports node:crypto',
    ]);
  });
});
