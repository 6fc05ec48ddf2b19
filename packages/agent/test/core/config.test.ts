import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '@steward/protocol';
import { DEFAULT_MODULES, describeConfig, loadAgentConfig } from '../../src/config.js';
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

  it('puts plugins under the data dir unless a flag, the file or STEWARD_PLUGINS_DIR says otherwise', async () => {
    const dir = await tempDir();
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, 'pluginsDir: from-file\n');
    expect(loadAgentConfig({ dataDir: dir }, {}).pluginsDir).toBe(join(dir, 'plugins'));
    expect(loadAgentConfig({ dataDir: dir }, { STEWARD_PLUGINS_DIR: '/opt/env-plugins' }).pluginsDir).toBe('/opt/env-plugins');
    expect(loadAgentConfig({ dataDir: dir, config: file }, { STEWARD_PLUGINS_DIR: '/opt/env-plugins' }).pluginsDir).toBe(join(process.cwd(), 'from-file'));
    expect(loadAgentConfig({ dataDir: dir, config: file, pluginsDir: '/opt/flag-plugins' }, {}).pluginsDir).toBe('/opt/flag-plugins');
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

  it('modules: +name adds to the list below it and -name takes away; a full list replaces it', async () => {
    const dir = await tempDir();
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, 'modules: [+nginx, +ftp]\n');
    expect(loadAgentConfig({ config: file, dataDir: dir }, {}).modules).toEqual([...DEFAULT_MODULES, 'nginx', 'ftp']);
    // Each source builds on the one below it: defaults, environment, file, flags.
    const env = { STEWARD_MODULES: 'sys,exec,fs' };
    expect(loadAgentConfig({ config: file, dataDir: dir, modules: '-exec,+exec,-fs' }, env).modules).toEqual(['sys', 'nginx', 'ftp', 'exec']);
    expect(loadAgentConfig({ dataDir: dir, modules: 'sys,fs' }, env).modules).toEqual(['sys', 'fs']);
    // Adding one already there changes nothing.
    expect(loadAgentConfig({ dataDir: dir, modules: '+sys' }, {}).modules).toEqual(DEFAULT_MODULES);
  });

  it('modules: a mix of a full list and +/- entries, or a bad entry, is refused naming the field', async () => {
    const dir = await tempDir();
    const file = join(dir, 'agent.yaml');
    const fieldsOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(ValidationError);
        return [(e as ValidationError).message, (e as ValidationError).details as { issues: { field: string }[] }] as const;
      }
      throw new Error('no error');
    };
    writeFileSync(file, 'modules: [sys, +nginx]\n');
    let [message, details] = fieldsOf(() => loadAgentConfig({ config: file, dataDir: dir }, {}));
    expect(details.issues.map((i) => i.field)).toEqual(['modules']);
    expect(message).toMatch(/modules/);
    writeFileSync(file, 'modules: [+nginx, "+Bad one"]\n');
    [message, details] = fieldsOf(() => loadAgentConfig({ config: file, dataDir: dir }, {}));
    expect(details.issues.map((i) => i.field)).toEqual(['modules[1]']);
    expect(message).toContain('+Bad one');
    writeFileSync(file, 'modules: nginx\n');
    [, details] = fieldsOf(() => loadAgentConfig({ config: file, dataDir: dir }, {}));
    expect(details.issues.map((i) => i.field)).toEqual(['modules']);
    [, details] = fieldsOf(() => loadAgentConfig({ dataDir: dir, modules: '+' }, {}));
    expect(details.issues.map((i) => i.field)).toEqual(['--modules[0]']);
  });

  it('takes a list of control-plane URLs from flags, file or environment, `server` being a one-item list', async () => {
    const dir = await tempDir();
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, 'servers: [http://file:1, "http://file:2/"]\n');
    const env = { STEWARD_SERVERS: 'http://env:1, http://env:2' };
    const fromFile = loadAgentConfig({ config: file, dataDir: dir }, env);
    expect(fromFile.servers).toEqual(['http://file:1', 'http://file:2']);
    expect(fromFile.server).toBe('http://file:1');
    expect(fromFile.serversPinned).toBeUndefined();
    expect(loadAgentConfig({ dataDir: dir }, env).servers).toEqual(['http://env:1', 'http://env:2']);
    expect(loadAgentConfig({ dataDir: dir }, { STEWARD_SERVER: 'http://one:1' }).servers).toEqual(['http://one:1']);
    expect(loadAgentConfig({ dataDir: dir }, {}).servers).toEqual(['http://127.0.0.1:7070']);
    // --server is repeatable and each may be a comma list; flags pin the list against pushed ones.
    const flags = loadAgentConfig({ config: file, dataDir: dir, server: ['http://a:1,http://b:1', 'http://c:1'] }, env);
    expect(flags.servers).toEqual(['http://a:1', 'http://b:1', 'http://c:1']);
    expect(flags.server).toBe('http://a:1');
    expect(flags.serversPinned).toBe(true);
    writeFileSync(file, 'server: http://file:1\nkeepLocal: [servers]\n');
    expect(loadAgentConfig({ config: file, dataDir: dir }, env)).toMatchObject({ servers: ['http://file:1'], serversPinned: true });
    writeFileSync(file, 'server: http://file:1\n');
    expect(loadAgentConfig({ config: file, dataDir: dir }, env).servers).toEqual(['http://file:1']);
    writeFileSync(file, 'server: http://file:9\nservers: [http://file:1]\n');
    expect(() => loadAgentConfig({ config: file, dataDir: dir }, {})).toThrow(/server or servers, not both/);
    writeFileSync(file, 'servers: [http://file:1, ftp://file:2]\n');
    expect(() => loadAgentConfig({ config: file, dataDir: dir }, {})).toThrow(/servers/);
    writeFileSync(file, 'servers: []\n');
    expect(() => loadAgentConfig({ config: file, dataDir: dir }, {})).toThrow(/servers/);
  });

  it('never shows the enrollment token when describing itself', async () => {
    const dir = await tempDir();
    const c = loadAgentConfig({ dataDir: dir, enrollToken: 'enr_x.secretvalue' }, {});
    expect(JSON.stringify(describeConfig(c))).not.toContain('secretvalue');
  });
});
