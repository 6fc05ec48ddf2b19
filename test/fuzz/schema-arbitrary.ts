import fc from 'fast-check';

/** The parts of JSON Schema (as TypeBox and the OpenAPI document emit it) that the fuzzer reads. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  pattern?: string;
  patternProperties?: Record<string, JsonSchema>;
  $ref?: string;
}

/** Strings an attacker tries first: traversal, injection, control and odd Unicode, huge, number-ish. */
const NASTY_STRINGS = [
  '',
  ' ',
  '../../../../etc/passwd',
  '/etc/shadow',
  '%2e%2e%2f',
  "' OR 1=1 --",
  '"; DROP TABLE nodes; --',
  '$(reboot)',
  '`id`',
  '=cmd|"/c calc"!A1',
  '\u0000',
  '\u202e\u200b',
  '\ud800',
  '💥'.repeat(50),
  'a'.repeat(70_000),
  '-1',
  '1e309',
  'NaN',
  'null',
  '__proto__',
  'constructor',
  '*',
  'role=web,env!=prod',
  'http://169.254.169.254/',
];

const nastyString = fc.oneof(fc.constantFrom(...NASTY_STRINGS), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));
const nastyNumber = fc.oneof(
  fc.constantFrom(-1, 0, 1, 2 ** 31, 2 ** 53, -(2 ** 63), 1e308, -0, 0.5),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
/** Any JSON value, including ones whose shape matters to parsers (deep nesting, prototype keys). */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constant({ __proto__: { admin: true }, constructor: { prototype: { polluted: true } } }),
  fc.constant(JSON.parse('{"__proto__": {"polluted": true}}')),
  fc.integer({ min: 50, max: 400 }).map((d) => JSON.parse('['.repeat(d) + ']'.repeat(d))),
);

/**
 * Values that fit `schema` most of the time, and with some probability break it in one place
 * (wrong type, out of range, missing or extra property): both the validation's edges and the
 * handlers behind a passing validation get exercised.
 */
export function fromSchema(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return anyJson;
  const valid = validFrom(schema, depth);
  return fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: anyJson }, { weight: 1, arbitrary: nastyString }, { weight: 1, arbitrary: nastyNumber });
}

function validFrom(s: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const alts = s.anyOf ?? s.oneOf;
  if (alts?.length) return fc.oneof(...alts.map((a) => fromSchema(a, depth + 1)));
  if (s.allOf?.length) return fromSchema(Object.assign({}, ...s.allOf) as JsonSchema, depth + 1);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object':
      return objectFrom(s, depth);
    case 'array':
      return fc.array(fromSchema(s.items, depth + 1), { maxLength: Math.min(s.maxItems ?? 5, 5) });
    case 'string':
      return fc.oneof(
        fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 30, 30) }),
        s.pattern ? fc.stringMatching(new RegExp(s.pattern), { size: 'small' }).filter((x) => x.length <= (s.maxLength ?? 1e6)) : fc.string({ maxLength: 5 }),
        nastyString,
      );
    case 'integer':
      return fc.oneof(fc.integer({ min: Math.max(s.minimum ?? -1e6, -1e9), max: Math.min(s.maximum ?? 1e6, 1e12) }), nastyNumber);
    case 'number':
      return fc.oneof(fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true }), nastyNumber);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return anyJson;
  }
}

function objectFrom(s: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  const props = s.properties ?? {};
  const required = new Set(s.required ?? []);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, v] of Object.entries(props)) model[k] = fromSchema(v, depth + 1);
  const requiredKeys = Object.keys(props).filter((k) => required.has(k));
  const base = fc.record(model, { requiredKeys });
  return fc.tuple(base, fc.option(fc.dictionary(nastyString, anyJson, { maxKeys: 2 }), { freq: 5 })).map(([o, extra]) => ({ ...(extra ?? {}), ...(o as object) }));
}
