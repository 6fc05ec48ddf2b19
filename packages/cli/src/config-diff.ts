/** One changed key between two configs, as `steward config diff` prints it. */
export interface ConfigChange {
  key: string;
  kind: 'added' | 'removed' | 'changed';
  text: string;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Leaves by dotted path (arrays are values, as they are in the merge). */
function leaves(value: unknown, path = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (isPlainObject(value) && (Object.keys(value).length > 0 || path === '')) {
    for (const [k, v] of Object.entries(value)) leaves(v, path ? `${path}.${k}` : k, out);
  } else out.set(path, value);
  return out;
}

/** Key-level differences, sorted by key: `+ key: value`, `- key: value`, `~ key: old -> new`. */
export function configChanges(before: unknown, after: unknown): ConfigChange[] {
  const a = leaves(before);
  const b = leaves(after);
  const out: ConfigChange[] = [];
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const was = a.get(key);
    const now = b.get(key);
    const s = (v: unknown) => JSON.stringify(v);
    if (!a.has(key)) out.push({ key, kind: 'added', text: `+ ${key}: ${s(now)}` });
    else if (!b.has(key)) out.push({ key, kind: 'removed', text: `- ${key}: ${s(was)}` });
    else if (s(was) !== s(now)) out.push({ key, kind: 'changed', text: `~ ${key}: ${s(was)} -> ${s(now)}` });
  }
  return out;
}
