import { Ajv, type ValidateFunction } from 'ajv';
import { RE2JS } from 're2js';
import { ConflictError, fieldName, UnknownCommandTypeError, ValidationError, type CommandTypeInfo } from '@steward/protocol';
import { builtinPayload } from '@steward/protocol/modules';

/**
 * A plugin's command type (not one of Steward's own) to a node that has not said hello yet: the
 * control plane cannot tell whether the type exists there or which of its fields are secret, so
 * it keeps nothing it might show in clear. Built-in types need no catalog.
 */
export class CatalogUnknownError extends ConflictError {
  constructor(type: string, nodeName: string) {
    super(
      'node_catalog_unknown',
      `node ${nodeName} has not connected yet, so its plugin command type ${JSON.stringify(type)} (and which of its fields are secret) is unknown; send it after the node's first hello`,
      { type },
    );
  }
}

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
 * Checks a payload at submission, so a bad one is refused with the field named, not after a
 * round trip. Steward's own command types are checked against the schemas the control plane
 * ships (BUILTIN_PAYLOADS), whatever the node declared; a plugin's type against the schema its
 * agent declared in its hello (size-capped, RE2 patterns, evicted past MAX_COMPILED_SCHEMAS).
 */
export class PayloadChecker {
  private readonly ajv = new Ajv({ allErrors: true, strict: false, code: { regExp: linearRegExp } });
  private readonly cache = new Map<string, { fn: ValidateFunction; schema: object }>();
  /** Catalog entries are shared objects (CatalogCache), so identity finds the compiled check. */
  private readonly byInfo = new WeakMap<object, ValidateFunction | null>();

  /** Built-in types' checks, compiled once each (trusted schemas: never evicted). */
  private readonly builtins = new Map<string, ValidateFunction>();

  check(commandTypes: readonly CommandTypeInfo[], type: string, payload: unknown, nodeName: string): void {
    const builtin = builtinPayload(type);
    if (commandTypes.length === 0) {
      if (!builtin) throw new CatalogUnknownError(type, nodeName);
      return this.validate(this.builtinCheck(type, builtin), type, payload);
    }
    const info = commandTypes.find((t) => t.type === type);
    if (!info) {
      const err = new UnknownCommandTypeError(type, commandTypes.map((t) => t.type));
      throw Object.assign(err, {
        message: `node ${nodeName} does not offer command type ${JSON.stringify(type)}; it offers ${commandTypes.map((t) => t.type).join(', ')}`,
      });
    }
    if (builtin) return this.validate(this.builtinCheck(type, builtin), type, payload);
    if (info.payloadSchema === undefined) return;
    let validate = this.byInfo.get(info);
    if (validate === undefined) {
      validate = this.compiled(info.payloadSchema);
      this.byInfo.set(info, validate);
    }
    this.validate(validate, type, payload);
  }

  private builtinCheck(type: string, schema: object): ValidateFunction {
    let fn = this.builtins.get(type);
    if (!fn) this.builtins.set(type, (fn = this.ajv.compile(schema)));
    return fn;
  }

  private validate(validate: ValidateFunction | null, type: string, payload: unknown): void {
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
