import { describe, expect, it } from 'vitest';
import { BUILTIN_PAYLOADS } from '@steward/protocol/modules';
import { availableModules, loadModules } from '../../src/modules/registry.js';

/**
 * The control plane validates and redacts Steward's own command types with BUILTIN_PAYLOADS,
 * not with what an agent declares: the two must be the same schemas, type for type.
 */
describe('built-in payload schemas', () => {
  it('every command type of every module is in BUILTIN_PAYLOADS, declared with exactly that schema', async () => {
    const registry = await loadModules(await availableModules());
    const declared = registry.types();
    expect(declared.map((t) => t.type).sort()).toEqual(Object.keys(BUILTIN_PAYLOADS).sort());
    for (const t of declared) expect(t.payloadSchema, t.type).toEqual(JSON.parse(JSON.stringify(BUILTIN_PAYLOADS[t.type])));
  });

  it('marks the secrets of issue 12 writeOnly: passwords, keys, env values, stdin, file contents', () => {
    const secretPaths = (schema: unknown, at = ''): string[] => {
      const s = schema as Record<string, any>;
      if (!s || typeof s !== 'object') return [];
      if (s.writeOnly === true) return [at];
      const out: string[] = [];
      for (const [k, sub] of Object.entries(s.properties ?? {})) out.push(...secretPaths(sub, `${at}.${k}`));
      for (const sub of Object.values(s.patternProperties ?? {})) out.push(...secretPaths(sub, `${at}.*`));
      for (const sub of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) out.push(...secretPaths(sub, at));
      return out;
    };
    const secrets = Object.fromEntries(Object.entries(BUILTIN_PAYLOADS).map(([type, schema]) => [type, secretPaths(schema)]).filter(([, paths]) => (paths as string[]).length > 0));
    expect(secrets).toEqual({
      'exec.run': ['.env.*', '.input'],
      'fs.write': ['.content'],
      'ftp.user.apply': ['.password'],
      'nginx.site.apply': ['.tls.keyPem'],
      'service.apply': ['.spec.env.*'],
      'shell.session': ['.env.*'],
      'task.run': ['.env.*'],
    });
  });
});
