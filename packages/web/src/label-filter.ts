// The server's own selector grammar (a subpath of the protocol package: no TypeBox comes along).
import { matchesSelector, parseSelector, type Selector } from '@steward/protocol/labels';

export type LabelFilter = { ok: true; terms: Selector } | { ok: false; error: string };

/** An empty filter matches everything; a malformed one matches everything and says why. */
export function parseLabelFilter(text: string): LabelFilter {
  if (!text.trim()) return { ok: true, terms: [] };
  try {
    return { ok: true, terms: parseSelector(text, 'labels') };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

export function matchesLabelFilter(labels: Record<string, string>, terms: Selector): boolean {
  return terms.length === 0 || matchesSelector(labels, terms);
}
