import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { ValidationError, type FieldIssue } from './errors.js';

export interface Validator<T extends TSchema> {
  check(value: unknown): value is Static<T>;
  /** Returns the value typed, or throws a ValidationError naming each field and rule. */
  parse(value: unknown, what?: string): Static<T>;
}

/** JSON pointer `/payload/args/0` → `payload.args[0]`, the way people write fields. */
export function fieldName(pointer: string, root?: string): string {
  let out = root ?? '';
  for (const part of pointer.split('/').slice(1)) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(key) ? `[${key}]` : out ? `.${key}` : key;
  }
  return out || root || '(root)';
}

/**
 * A union's own error says only "Expected union value". When the value comes close to one
 * member (the fewest errors, e.g. the monitor check whose `kind` it names), that member's errors
 * name the real field instead.
 */
function closestErrors(e: ValueError): ValueError[] {
  if (e.type !== ValueErrorType.Union || !e.errors?.length) return [e];
  let best: ValueError[] | null = null;
  for (const it of e.errors) {
    const errs = [...it].flatMap(closestErrors);
    if (errs.length > 0 && (best === null || errs.length < best.length)) best = errs;
  }
  return best ?? [e];
}

export function issuesOf<T extends TSchema>(check: TypeCheck<T>, value: unknown, root?: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  for (const e of [...check.Errors(value)].flatMap(closestErrors)) {
    const field = fieldName(e.path, root);
    if (seen.has(field)) continue;
    seen.add(field);
    issues.push({ field, rule: e.message });
    if (issues.length >= 20) break;
  }
  return issues;
}

/**
 * A validator compiled on its first use, not when it is declared: modules declare theirs at load,
 * and an agent's start (or a CLI call) would otherwise compile every schema it may never check.
 */
export function compile<T extends TSchema>(schema: T): Validator<T> {
  let compiled: TypeCheck<T> | null = null;
  const checker = (): TypeCheck<T> => (compiled ??= TypeCompiler.Compile(schema));
  return {
    check: (value): value is Static<T> => checker().Check(value),
    parse(value, what = 'value') {
      const check = checker();
      if (check.Check(value)) return value;
      const issues = issuesOf(check, value);
      const text = issues.map((i) => `${i.field}: ${i.rule}`).join('; ');
      throw new ValidationError(`invalid ${what}: ${text}`, issues);
    },
  };
}
