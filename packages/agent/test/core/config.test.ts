import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '@steward/protocol';
import { describeConfig, loadAgentConfig } from '../../src/config.js';
import { tempDir } from '../modules/context.js';

describe('agent configuration: flags > YAML file > STEWARD_* environment', () => {
  it('applies the precedence field by field', async () => {
    const dir = await tempDir();
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, 'server: http://file:1\nname: from-file\nlabels: { zone: file }\nmodules: [sys, exec]\n');
    const env = { STEWARD_SERVER: 'http://env:1', STEWARD_NAME: 'from-env', STEWARD_LOG_LEVEL: 'debug', STEWARD_LABELS: 'zone=env,tier=env' };
    const c = loadAgentConfig({ config: file, name: 'from-flag', dataDir: dir }, env);
    expect(c.name).toBe('from-flag');
    expect(c.server).toBe('http://file:1');
    expect(c.logLevel).toBe('debug');
    // Labels merge key by key; the higher source wins on a shared key.
    expect(c.labels).toEqual({ zone: 'file', tier: 'env' });
    expect(c.modules).toEqual(['sys', 'exec']);
    expect(loadAgentConfig({ dataDir: dir }, env).server).toBe('http://env:1');
    expect(loadAgentConfig({ dataDir: dir }, {}).server).toBe('http://127.0.0.1:7070');
  });

  it('names the field and the rule when something is wrong', async () => {
    const dir = await tempDir();
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, 'server: ftp://nope\nheartbeatIntervalMs: 5\nsurprise: 1\n');
    const err = (() => {
      try {
        loadAgentConfig({ config: file, dataDir: dir }, {});
      } catch (e) {
        return e;
      }
    })() as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    const fields = (err.details as { issues: { field: string }[] }).issues.map((i) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['server', 'heartbeatIntervalMs']));
    expect(err.message).toMatch(/surprise|additional/i);
    expect(() => loadAgentConfig({ label: ['novalue'], dataDir: dir }, {})).toThrow(/--label/);
    writeFileSync(file, 'server: [unclosed\n');
    expect(() => loadAgentConfig({ config: file, dataDir: dir }, {})).toThrow(/not valid YAML/);
  });

  it('never shows the enrollment token when describing itself', async () => {
    const dir = await tempDir();
    const c = loadAgentConfig({ dataDir: dir, enrollToken: 'enr_x.secretvalue' }, {});
    expect(JSON.stringify(describeConfig(c))).not.toContain('secretvalue');
  });
});
