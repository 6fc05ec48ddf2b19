import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionConfigError } from '../src/connection-error.js';
import { localServerDataDir, resolveConnection } from '../src/connection.js';

let dir: string;
let empty: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'steward-conn-'));
  empty = mkdtempSync(join(tmpdir(), 'steward-conn-empty-'));
  writeFileSync(join(dir, 'endpoint.json'), JSON.stringify({ url: 'http://127.0.0.1:7070/' }));
  writeFileSync(join(dir, 'admin.token'), 'adm_local\n');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(empty, { recursive: true, force: true });
});

describe('resolveConnection', () => {
  it('prefers flags over environment over the local data dir', () => {
    const env = { STEWARD_SERVER: 'http://env:1', STEWARD_TOKEN: 'env-token', STEWARD_DATA_DIR: dir };
    expect(resolveConnection({ server: 'http://flag:2/', token: 'flag-token' }, env)).toMatchObject({
      baseUrl: 'http://flag:2',
      token: 'flag-token',
      serverSource: '--server',
      tokenSource: '--token',
    });
    expect(resolveConnection({}, env)).toMatchObject({ baseUrl: 'http://env:1', token: 'env-token' });
    expect(resolveConnection({}, { STEWARD_DATA_DIR: dir })).toMatchObject({
      baseUrl: 'http://127.0.0.1:7070',
      token: 'adm_local',
      serverSource: join(dir, 'endpoint.json'),
      tokenSource: join(dir, 'admin.token'),
    });
  });

  it('mixes sources per field: a token flag with the local endpoint', () => {
    expect(resolveConnection({ token: 't' }, {}, dir)).toMatchObject({ baseUrl: 'http://127.0.0.1:7070', token: 't' });
  });

  it('uses the local admin token for the local URL given explicitly', () => {
    expect(resolveConnection({ server: 'http://127.0.0.1:7070' }, {}, dir).token).toBe('adm_local');
  });

  it('never sends the local admin token to another server', () => {
    expect(() => resolveConnection({ server: 'http://elsewhere:7070' }, {}, dir)).toThrow(/--token TOKEN or set STEWARD_TOKEN/);
  });

  it('says which of the three to provide when nothing is found', () => {
    let err: unknown;
    try {
      resolveConnection({}, {}, empty);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConnectionConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('--server');
    expect(msg).toContain('STEWARD_SERVER');
    expect(msg).toContain(join(empty, 'endpoint.json'));
  });

  it('rejects a server that is not an http(s) URL, naming where it came from', () => {
    expect(() => resolveConnection({ server: 'ftp://x', token: 't' }, {})).toThrow(/--server/);
    expect(() => resolveConnection({}, { STEWARD_SERVER: 'nope', STEWARD_TOKEN: 't' })).toThrow(/STEWARD_SERVER/);
  });

  it('treats a half-written endpoint file as absent', () => {
    writeFileSync(join(dir, 'endpoint.json'), '{"url": "http://12');
    expect(() => resolveConnection({}, {}, dir)).toThrow(ConnectionConfigError);
  });

  it('defaults the data dir like the server does', () => {
    expect(localServerDataDir({ STEWARD_DATA_DIR: '/x' })).toBe('/x');
    expect(localServerDataDir({})).toMatch(/\.steward[/\\]server$/);
  });
});
