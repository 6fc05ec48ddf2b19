import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { REDACTED, redactWriteOnly } from '../src/secrets.js';

const Secret = Type.String({ writeOnly: true });
const schema = JSON.parse(
  JSON.stringify(
    Type.Object({
      name: Type.String(),
      password: Type.Optional(Secret),
      tls: Type.Optional(Type.Object({ certPem: Type.String(), keyPem: Secret })),
      users: Type.Optional(Type.Array(Type.Object({ login: Type.String(), pass: Secret }))),
      either: Type.Optional(Type.Union([Type.Object({ token: Secret }), Type.String()])),
    }),
  ),
);

describe('redactWriteOnly', () => {
  it('replaces writeOnly parts at any depth and leaves the input alone', () => {
    const input = { name: 'a', password: 'p', tls: { certPem: 'C', keyPem: 'K' }, users: [{ login: 'x', pass: 'y' }], either: { token: 't' } };
    const copy = structuredClone(input);
    const out = redactWriteOnly(schema, input);
    expect(out).toEqual({
      redacted: true,
      value: { name: 'a', password: REDACTED, tls: { certPem: 'C', keyPem: REDACTED }, users: [{ login: 'x', pass: REDACTED }], either: { token: REDACTED } },
    });
    expect(input).toEqual(copy);
  });

  it('says redacted: false when no secret is present', () => {
    expect(redactWriteOnly(schema, { name: 'a', either: 'plain' })).toEqual({ redacted: false, value: { name: 'a', either: 'plain' } });
    expect(redactWriteOnly(undefined, { a: 1 })).toEqual({ redacted: false, value: { a: 1 } });
  });
});
