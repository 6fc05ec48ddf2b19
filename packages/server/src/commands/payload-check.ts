import { Ajv, type ValidateFunction } from 'ajv';
import { fieldName, UnknownCommandTypeError, ValidationError, type CommandTypeInfo } from '@steward/protocol';

/**
 * Checks a payload against the schema the target agent declared for that type in its hello,
 * so a bad payload is refused at submission with the field named, not after a round trip.
 * Nodes that never connected have no catalog yet; their agent validates on arrival.
 */
export class PayloadChecker {
  private readonly ajv = new Ajv({ allErrors: true, strict: false });
  private readonly cache = new Map<string, ValidateFunction>();
  /** Catalog entries are shared objects (CatalogCache), so identity finds the compiled check. */
  private readonly byInfo = new WeakMap<object, ValidateFunction>();

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
    if (!validate) {
      validate = this.compiled(info.payloadSchema);
      this.byInfo.set(info, validate);
    }
    if (validate(payload)) return;
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

  private compiled(schema: unknown): ValidateFunction {
    const key = JSON.stringify(schema);
    let fn = this.cache.get(key);
    if (!fn) {
      fn = this.ajv.compile(schema as object);
      this.cache.set(key, fn);
    }
    return fn;
  }
}
