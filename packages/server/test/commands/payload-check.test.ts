import { describe, expect, it } from 'vitest';
import type { CommandTypeInfo } from '@steward/protocol';
import { CatalogUnknownError, MAX_COMPILED_SCHEMAS, MAX_SCHEMA_BYTES, PayloadChecker } from '../../src/commands/payload-check.js';

const typeWith = (payloadSchema: unknown): CommandTypeInfo[] => [{ type: 'acme.run', module: 'acme', safeToRerun: false, payloadSchema }];

describe('checking payloads against schemas that agents declare (plugin types)', () => {
  it('matches a pattern built to backtrack forever in linear time (a hostile node cannot stall the server)', () => {
    const checker = new PayloadChecker();
    // With a backtracking RegExp, 60 characters of this take on the order of 2^60 steps: this
    // test would never end. RE2 answers at once.
    const types = typeWith({ type: 'object', properties: { command: { type: 'string', pattern: '^(.|.)*#$' } } });
    expect(() => checker.check(types, 'acme.run', { command: 'a'.repeat(60) }, 'evil')).toThrow(/payload.command: must match pattern/);
    expect(() => checker.check(types, 'acme.run', { command: `${'a'.repeat(60)}#` }, 'evil')).not.toThrow();
  });

  it('keeps each pattern apart (properties and patternProperties in one schema)', () => {
    const checker = new PayloadChecker();
    const types = typeWith({
      type: 'object',
      properties: {
        sha: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        env: { type: 'object', patternProperties: { '^[A-Z_][A-Z0-9_]*$': { type: 'string' } }, additionalProperties: false },
      },
    });
    expect(() => checker.check(types, 'acme.run', { sha: 'a'.repeat(64), env: { PATH: '/bin' } }, 'n')).not.toThrow();
    expect(() => checker.check(types, 'acme.run', { sha: 'xyz', env: { path: '/bin' } }, 'n')).toThrow(/payload.sha: must match pattern.*payload.env.path: must NOT have additional properties|payload.env/);
  });

  it('reads ECMAScript \\u escapes as the protocol schemas use them (no NUL in a path)', () => {
    const checker = new PayloadChecker();
    const types = typeWith({ type: 'object', properties: { path: { type: 'string', pattern: '^/[^\\u0000]*$' }, lit: { type: 'string', pattern: '^a\\\\u0041$' } } });
    expect(checker.size).toBe(0);
    expect(() => checker.check(types, 'acme.run', { path: '/srv/a b', lit: 'a\\u0041' }, 'n')).not.toThrow();
    expect(checker.size).toBe(1);
    expect(() => checker.check(types, 'acme.run', { path: '/srv/\u0000x' }, 'n')).toThrow(/payload.path: must match pattern/);
    expect(() => checker.check(types, 'acme.run', { lit: 'aA' }, 'n')).toThrow(/payload.lit: must match pattern/);
  });

  it('leaves a schema it cannot compile, or one too large, to the agent instead of failing the submission', () => {
    const checker = new PayloadChecker();
    // RE2 has no lookahead: the schema does not compile here.
    expect(() => checker.check(typeWith({ type: 'object', properties: { a: { type: 'string', pattern: '^(?=x)' } } }), 'acme.run', { a: 'y' }, 'n')).not.toThrow();
    const huge = { type: 'object', description: 'x'.repeat(MAX_SCHEMA_BYTES), properties: { a: { type: 'string' } } };
    expect(() => checker.check(typeWith(huge), 'acme.run', { a: 1 }, 'n')).not.toThrow();
    expect(checker.size).toBe(0);
    // An ordinary schema is still enforced.
    expect(() => checker.check(typeWith({ type: 'object', required: ['a'] }), 'acme.run', {}, 'n')).toThrow(/payload.a: must have required property/);
  });

  it('keeps at most MAX_COMPILED_SCHEMAS compiled schemas however many distinct catalogs arrive', () => {
    const checker = new PayloadChecker();
    for (let i = 0; i < MAX_COMPILED_SCHEMAS + 50; i++) {
      checker.check(typeWith({ type: 'object', properties: { [`f${i}`]: { type: 'string' } } }), 'acme.run', {}, 'n');
    }
    expect(checker.size).toBe(MAX_COMPILED_SCHEMAS);
  });
});

describe("Steward's own command types: the control plane's schemas, not the node's", () => {
  const loose = (type: string): CommandTypeInfo[] => [{ type, module: type.split('.')[0]!, safeToRerun: false, payloadSchema: { type: 'object' } }];

  it('refuses a built-in payload the real schema refuses even when the node declared a schema that takes anything', () => {
    const checker = new PayloadChecker();
    expect(() => checker.check(loose('exec.run'), 'exec.run', { command: 'ls', rm: '-rf /' }, 'liar')).toThrow(/payload.rm: must NOT have additional properties/);
    expect(() => checker.check(loose('nginx.site.apply'), 'nginx.site.apply', { name: 'a b' }, 'liar')).toThrow(/invalid payload for nginx.site.apply/);
    expect(() => checker.check(loose('exec.run'), 'exec.run', { command: 'ls', env: { A: 'b' } }, 'liar')).not.toThrow();
  });

  it('checks built-in types for a node that never connected, and refuses a plugin type to it with node_catalog_unknown', () => {
    const checker = new PayloadChecker();
    expect(() => checker.check([], 'ftp.user.apply', { username: 'bob', home: '/srv/ftp/bob', password: 'x', extra: 1 }, 'new')).toThrow(/payload.extra/);
    expect(() => checker.check([], 'ftp.user.apply', { username: 'bob', home: '/srv/ftp/bob', password: 'pw' }, 'new')).not.toThrow();
    let caught: unknown;
    try {
      checker.check([], 'acme.secret.set', { token: 'x' }, 'new');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(CatalogUnknownError);
    expect(caught).toMatchObject({ code: 'node_catalog_unknown', status: 409 });
  });
});
