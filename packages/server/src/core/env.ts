import { ValidationError } from '@steward/protocol';

/**
 * A positive integer from the environment (`STEWARD_…_MS`, a connection cap), or undefined when
 * unset or empty; anything else is refused naming the variable, so a typo never means "default".
 */
export function envPositiveInt(name: string, unit = ''): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new ValidationError(`${name} must be a positive integer${unit ? ` of ${unit}` : ''}`, [{ field: name, rule: 'positive integer' }]);
  return n;
}
