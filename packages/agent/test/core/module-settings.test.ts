import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { ValidationError } from '@steward/protocol';
import { loadAgentConfig } from '../../src/config.js';
import { resolveModuleSettings } from '../../src/modules/registry.js';
import { defineModule } from '../../src/modules/types.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../modules/context.js';

const withSettings = defineModule({
  name: 'exec',
  description: 'test',
  commands: [],
  settings: Type.Object({ limit: Type.Integer({ minimum: 1, default: 5 }), tag: Type.Optional(Type.String()) }, { additionalProperties: false }),
});

describe('module settings', () => {
  it('routes a top-level key naming a module folder into moduleSettings, and refuses other unknown keys', async () => {
    const dir = await tempDir();
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'stats:\n  x: 1\nexec:\n  allowShell: false\n');
    const c = loadAgentConfig({ config: good, dataDir: dir }, {});
    expect(c.moduleSettings).toEqual({ stats: { x: 1 } });
    // `exec` is also a core setting, and core settings win.
    expect(c.exec.allowShell).toBe(false);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'bogus: 1\n');
    expect(() => loadAgentConfig({ config: bad, dataDir: dir }, {})).toThrow(/bogus: Unexpected property/);
  });

  it('applies defaults and names the bad field with the module prefix', () => {
    expect(resolveModuleSettings([withSettings], {})).toEqual({ exec: { limit: 5 } });
    expect(resolveModuleSettings([withSettings], { exec: { limit: 2, tag: 'a' } })).toEqual({ exec: { limit: 2, tag: 'a' } });
    try {
      resolveModuleSettings([withSettings], { exec: { limit: 0 } });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect(JSON.stringify((e as ValidationError).details)).toContain('exec.limit');
    }
  });

  it('refuses settings for a module that takes none', () => {
    const plain = defineModule({ name: 'sys', description: 't', commands: [] });
    expect(() => resolveModuleSettings([plain], { sys: { a: 1 } })).toThrow(/takes no settings/);
  });
});
