import { ValidationError } from './errors.js';

export type Labels = Record<string, string>;

export const LABEL_KEY_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9._/-]{0,62})$';
export const LABEL_VALUE_PATTERN = '^[A-Za-z0-9._-]{0,63}$';
const KEY = new RegExp(LABEL_KEY_PATTERN);

/**
 * Label keys under this prefix belong to operators: set through the nodes label API (or an
 * enrollment token's labels, which an operator chose), never by an agent asking at enrollment.
 * Selectors on `steward.io/…` labels can therefore be trusted to place secrets.
 */
export const RESERVED_LABEL_PREFIX = 'steward.io/';

export function isReservedLabel(key: string): boolean {
  return key.startsWith(RESERVED_LABEL_PREFIX);
}
const VALUE = new RegExp(LABEL_VALUE_PATTERN);

/** Parses `k=v` pairs as given on a command line (`--label env=prod`). */
export function parseLabelArgs(pairs: readonly string[], field = 'label'): Labels {
  const out: Labels = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (eq < 0 || !KEY.test(key) || !VALUE.test(value)) {
      throw new ValidationError(
        `${field}: ${JSON.stringify(pair)} is not k=v (key: letters, digits, . _ / -; value: letters, digits, . _ -)`,
        [{ field, rule: 'k=v' }],
      );
    }
    out[key] = value;
  }
  return out;
}

export type SelectorTerm = { key: string; op: '=' | '!='; value: string } | { key: string; op: 'exists' | '!exists' };
export type Selector = SelectorTerm[];

/**
 * Label selectors in the Kubernetes equality form: `env=prod,role!=db,gpu,!legacy`.
 * Every term must hold.
 */
export function parseSelector(text: string, field = 'selector'): Selector {
  const terms: Selector = [];
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.every((p) => p === '')) {
    throw new ValidationError(`${field}: empty selector`, [{ field, rule: 'k=v[,k2=v2…]' }]);
  }
  for (const part of parts) {
    const m = /^(!?)([^=!]+?)\s*(?:(!=|==|=)\s*(.*))?$/.exec(part);
    const key = m?.[2]?.trim() ?? '';
    const value = (m?.[4] ?? '').trim();
    if (!m || !KEY.test(key) || (m[3] !== undefined && (!VALUE.test(value) || m[1] === '!'))) {
      throw new ValidationError(`${field}: ${JSON.stringify(part)} is not a selector term (k=v, k!=v, k or !k)`, [
        { field, rule: 'k=v[,k2=v2…]' },
      ]);
    }
    if (m[3] === undefined) terms.push({ key, op: m[1] === '!' ? '!exists' : 'exists' });
    else terms.push({ key, op: m[3] === '!=' ? '!=' : '=', value });
  }
  return terms;
}

export function matchesSelector(labels: Labels, selector: Selector): boolean {
  return selector.every((t) => {
    const has = Object.prototype.hasOwnProperty.call(labels, t.key);
    switch (t.op) {
      case '=':
        return has && labels[t.key] === t.value;
      case '!=':
        return !has || labels[t.key] !== t.value;
      case 'exists':
        return has;
      case '!exists':
        return !has;
    }
  });
}
