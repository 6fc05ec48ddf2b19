import { Ajv, type ValidateFunction } from 'ajv';
import { RE2JS } from 're2js';
import { fieldName, UnknownCommandTypeError, ValidationError, type CommandTypeInfo } from '@steward/protocol';

/**
 * `pattern`s come from agents' catalogs: with JavaScript's backtracking RegExp a hostile node's
 * `^(.|.)*#$` stalls the event loop for seconds on a short payload (ReDoS). RE2 matches in
 * linear time; the few features it lacks (backreferences, lookaround) make the schema fail to
 * compile, and such a type is then checked by its agent alone.
 */
const linearRegExp = Object.assign(
  (pattern: string, flags: string) => {
    // JSON Schema patterns are ECMAScript: `\uXXXX` is written `\x{XXXX}` in RE2 (an escaped backslash is left alone).
    const re2 = pattern.replace(/(?<!\\)((?:\\\\)*)\\u([0-9a-fA-F]{4})/g, '$1\\x{$2}');
    const re = RE2JS.compile(re2, flags.includes('i') ? RE2JS.CASE_INSENSITIVE : 0);
    // Ajv keys its pattern cache by toString(): each pattern must say which it is.
    return { test: (s: string) => re.matcher(s).find(), toString: () => `/${pattern}/${flags}` };
  },
  { code: 're2js' },
);

/** A declared schema larger than this is not compiled here (its agent still validates). */
export const MAX_SCHEMA_BYTES = 64 * 1024;
/** Compiled schemas kept; the oldest is dropped past this, so hellos with ever-new catalogs cannot grow the server. */
export const MAX_COMPILED_SCHEMAS = 500;

/**
 * Checks a payload against the schema the target agent declared for that type in its hello,
 * so a bad payload is refused at submission with the field named, not after a round trip.
 * Nodes that never connected have no catalog yet; their agent validates on arrival.
 */
export class PayloadChecker {
  private readonly ajv = new Ajv({ allErrors: true, strict: false, code: { regExp: linearRegExp } });
  private readonly cache = new Map<string, { fn: ValidateFunction; schema: object }>();
  /** Catalog entries are shared objects (CatalogCache), so identity finds the compiled check. */
  private readonly byInfo = new WeakMap<object, ValidateFunction | null>();

  check(commandTypes: readonly CommandTypeInfo[], type: string, payload: unknown, nodeName: string): void {
    if (commandTypes.length === 0) return;
    const info = commandTypes.find((t) => t.type === type);
    if (!info) {
      const err = new UnknownCommandTypeError(type, commandTypes.map((t) => t.type));
      throw Object.assign(err, {
        message: `node ${nodeName} does not offer command type ${JSON.stringify(type)}; it offers ${commandTypes.map((t) => t.type).join(', ')}`,
      });
    }
    if (info.payloadSchema === undefined) return;
    let validate = this.byInfo.get(info);
    if (validate === undefined) {
      validate = this.compiled(info.payloadSchema);
      this.byInfo.set(info, validate);
    }
    if (validate === null || validate(payload)) return;
    const issues = (validate.errors ?? []).slice(0, 20).map((e) => {
      const missing = e.keyword === 'required' ? `/${String((e.params as { missingProperty?: string }).missingProperty)}` : '';
      const extra = e.keyword === 'additionalProperties' ? `/${String((e.params as { additionalProperty?: string }).additionalProperty)}` : '';
      return { field: fieldName(e.instancePath + missing + extra, 'payload'), rule: e.message ?? e.keyword };
    });
    throw new ValidationError(
      `invalid payload for ${type}: ${issues.map((i) => `${i.field}: ${i.rule}`).join('; ')}`,
      issues,
    );
  }

  /** The compiled check, or null when the schema is too large or will not compile (its agent validates). */
  private compiled(schema: unknown): ValidateFunction | null {
    const key = JSON.stringify(schema);
    if (key.length > MAX_SCHEMA_BYTES) return null;
    const known = this.cache.get(key);
    if (known) return known.fn;
    let fn: ValidateFunction;
    try {
      fn = this.ajv.compile(schema as object);
    } catch {
      this.ajv.removeSchema(schema as object);
      return null;
    }
    this.cache.set(key, { fn, schema: schema as object });
    if (this.cache.size > MAX_COMPILED_SCHEMAS) {
      const [oldest, entry] = this.cache.entries().next().value as [string, { schema: object }];
      this.cache.delete(oldest);
      // Ajv keeps every schema it compiled, keyed by the object: let it go too.
      this.ajv.removeSchema(entry.schema);
    }
    return fn;
  }

  /** Compiled schemas held now (for tests: bounded by MAX_COMPILED_SCHEMAS). */
  get size(): number {
    return this.cache.size;
  }
}
