/**
 * Exclude patterns, the way .gitignore users expect: `*` and `?` stay within one path
 * component, `**` crosses them. A pattern without `/` matches any component's name
 * (`node_modules`, `*.log`); one with a `/` (or starting with one) matches the path from the
 * source root (`/top`, `cache/tmp`,
 * `logs/**\/*.gz`). A matched directory is left out with everything below it.
 */
export class ExcludeMatcher {
  private readonly byName: RegExp[] = [];
  private readonly byPath: RegExp[] = [];

  constructor(readonly patterns: readonly string[]) {
    for (const raw of patterns) {
      const p = raw.replace(/^\/+/, '').replace(/\/+$/, '');
      if (!p) continue;
      if (raw.startsWith('/') || p.includes('/')) this.byPath.push(new RegExp(`^${globToRegex(p)}(/.*)?$`));
      else this.byName.push(new RegExp(`^${globToRegex(p)}$`));
    }
  }

  /** `rel` is relative to the source root, `/`-separated, without a leading `./`. */
  excludes(rel: string): boolean {
    if (!rel) return false;
    if (this.byPath.some((r) => r.test(rel))) return true;
    return rel.split('/').some((part) => this.byName.some((r) => r.test(part)));
  }
}

function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` also matches no directory at all.
      if (glob[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return out;
}
