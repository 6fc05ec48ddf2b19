/** What a secret value is replaced with wherever Steward shows or keeps a payload after use. */
export const REDACTED = '[redacted]';

type Schema = {
  writeOnly?: boolean;
  properties?: Record<string, Schema>;
  patternProperties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
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
  const found = secretWalk(schema, value);
  return { value: found.value, redacted: found.secrets.length > 0 };
}

/**
 * The clear values of the parts `schema` marks writeOnly, as strings (a result that echoes one
 * of them is scrubbed with these). Values shorter than 4 characters are left out: scrubbing
 * every "1" from a result would garble it and hides nothing worth hiding.
 */
export function secretStrings(schema: unknown, value: unknown): string[] {
  return secretWalk(schema, value)
    .secrets.flatMap((v) => (typeof v === 'string' ? [v] : v === undefined ? [] : [JSON.stringify(v)]))
    .filter((v) => v.length >= 4);
}

function secretWalk(schema: unknown, value: unknown): { value: unknown; secrets: unknown[] } {
  const secrets: unknown[] = [];
  const walk = (s: Schema | undefined, v: unknown): unknown => {
    if (!s || typeof s !== 'object' || v === undefined) return v;
    if (s.writeOnly === true) {
      if (v !== REDACTED) secrets.push(v);
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
    // A record (`env`: name → value): every other key goes through each pattern's schema and
    // the additionalProperties one. Patterns are not matched (they may come from an agent);
    // redacting a key a pattern would not match only redacts more.
    const others = [...Object.values(s.patternProperties ?? {}), ...(typeof s.additionalProperties === 'object' ? [s.additionalProperties] : [])];
    if (others.length && out && typeof out === 'object' && !Array.isArray(out)) {
      const copy: Record<string, unknown> = { ...(out as Record<string, unknown>) };
      for (const k of Object.keys(copy)) {
        if (s.properties && k in s.properties) continue;
        for (const sub of others) copy[k] = walk(sub, copy[k]);
      }
      out = copy;
    }
    return out;
  };
  const result = walk(schema as Schema, value);
  return { value: result, secrets };
}
