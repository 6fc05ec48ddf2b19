/** What start ordering needs of a service spec. */
export interface OrderedService {
  name: string;
  priority?: number;
  after?: string[];
}

/**
 * A cycle of `after` edges among `services`, as the names along it with the first repeated at the
 * end (`['a', 'b', 'a']`), or null. Names in `after` that are not in the list are ignored: that
 * service does not exist (yet) or does not run here, so nothing waits for it.
 */
export function findAfterCycle(services: readonly OrderedService[]): string[] | null {
  const deps = new Map(services.map((s) => [s.name, s.after ?? []]));
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (name: string): string[] | null => {
    const at = path.indexOf(name);
    if (at >= 0) return [...path.slice(at), name];
    if (done.has(name) || !deps.has(name)) return null;
    path.push(name);
    for (const d of deps.get(name)!) {
      const cycle = visit(d);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(name);
    return null;
  };
  for (const s of services) {
    const cycle = visit(s.name);
    if (cycle) return cycle;
  }
  return null;
}

/**
 * The order to start `services` in: every service after those it names in `after` (among the
 * list), otherwise lower `priority` first (default 0), then by name. Members of a cycle (refused
 * at PUT and apply, so only from a hand-edited state) go last, by the same tie-break.
 */
export function startOrder<T extends OrderedService>(services: readonly T[]): T[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const waiting = new Map(services.map((s) => [s.name, new Set((s.after ?? []).filter((d) => byName.has(d) && d !== s.name))]));
  const rank = (a: T, b: T) => (a.priority ?? 0) - (b.priority ?? 0) || a.name.localeCompare(b.name);
  const out: T[] = [];
  while (waiting.size) {
    const ready = [...waiting].filter(([, w]) => w.size === 0).map(([n]) => byName.get(n)!);
    const next = (ready.length ? ready : [...waiting.keys()].map((n) => byName.get(n)!)).sort(rank)[0]!;
    out.push(next);
    waiting.delete(next.name);
    for (const w of waiting.values()) w.delete(next.name);
  }
  return out;
}
