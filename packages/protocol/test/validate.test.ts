import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compile } from '../src/validate.js';
import { ValidationError } from '../src/errors.js';

describe('compile', () => {
  afterEach(() => vi.restoreAllMocks());

  it('compiles a schema on its first use, once, not when the validator is declared', () => {
    const spy = vi.spyOn(TypeCompiler, 'Compile');
    const v = compile(Type.Object({ n: Type.Integer({ minimum: 1 }) }));
    expect(spy).not.toHaveBeenCalled();
    expect(v.check({ n: 1 })).toBe(true);
    expect(v.check({ n: 0 })).toBe(false);
    expect(v.parse({ n: 2 })).toEqual({ n: 2 });
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('parse names each bad field, also when parse is the first use', () => {
    const v = compile(Type.Object({ n: Type.Integer({ minimum: 1 }), s: Type.String() }));
    let err: unknown;
    try {
      v.parse({ n: 0, s: 3 }, 'thing');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toMatch(/^invalid thing: /);
    expect(((err as ValidationError).details as { issues: { field: string }[] }).issues.map((i) => i.field).sort()).toEqual(['n', 's']);
  });
});
