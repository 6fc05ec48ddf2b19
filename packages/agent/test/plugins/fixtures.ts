import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { manifestFor } from '../../src/plugins/manifest.js';

export const HELLO_EXAMPLE = resolve(import.meta.dirname, '../../../../examples/plugins/hello');

/** A plugin module source: `name.verb` commands returning `answer`, as a factory like the example. */
export function pluginSource(name: string, answer: string, extra = ''): string {
  return `export default ({ Type }) => ({
  name: ${JSON.stringify(name)},
  description: 'test plugin',
  commands: [{
    type: ${JSON.stringify(`${name}.answer`)},
    description: 'answers',
    payload: Type.Object({}),
    safeToRerun: true,
    handler: async () => ({ answer: ${JSON.stringify(answer)} }),
  }],
  ${extra}
});
`;
}

/** Writes `<dir>/<name>/index.mjs` and a plugin.json listing its checksum (or `manifestOf` the given files). */
export function writePlugin(dir: string, name: string, source: string, o: { version?: string; manifestOf?: string } = {}): void {
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(join(dir, name, 'index.mjs'), source);
  const manifest = manifestFor(name, o.version ?? '1.0.0', { 'index.mjs': o.manifestOf ?? source });
  writeFileSync(join(dir, name, 'plugin.json'), JSON.stringify(manifest));
}

export function copyExample(dir: string): void {
  cpSync(HELLO_EXAMPLE, join(dir, 'hello'), { recursive: true });
}
