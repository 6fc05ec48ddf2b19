/** What a secret value is replaced with wherever Steward shows or keeps a payload after use. */
export const REDACTED = '[redacted]';

type Schema = {
  writeOnly?: boolean;
  properties?: Record<string, Schema>;
  items?: Schema | Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
};

/**
 * A copy of `value` with every part its JSON schema marks `writeOnly: true` (a password, a private
 * key) replaced by REDACTED; `redacted` says whether there was any. The schema is the command
 * type's payload schema as the agent declared it, so modules mark their own secrets.
 */
export function redactWriteOnly(schema: unknown, value: unknown): { value: unknown; redacted: boolean } {
  let redacted = false;
  const walk = (s: Schema | undefined, v: unknown): unknown => {
    if (!s || typeof s !== 'object' || v === undefined) return v;
    if (s.writeOnly === true) {
      redacted = true;
      return REDACTED;
    }
    let out: unknown = v;
    for (const sub of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])]) out = walk(sub, out);
    if (Array.isArray(out) && s.items) {
      const items = s.items;
      out = (out as unknown[]).map((item, i) => walk(Array.isArray(items) ? items[i] : items, item));
    } else if (out && typeof out === 'object' && !Array.isArray(out) && s.properties) {
      const copy: Record<string, unknown> = { ...(out as Record<string, unknown>) };
      for (const [k, sub] of Object.entries(s.properties)) if (k in copy) copy[k] = walk(sub, copy[k]);
      out = copy;
    }
    return out;
  };
  const result = walk(schema as Schema, value);
  return { value: result, redacted };
}
