import type { StewardClient } from '@steward/client';
import { readCsv } from '@steward/protocol/csv';

/**
 * Maps node ids to names for display. One list call up front, then single look-ups
 * for nodes enrolled since; a node that is gone stays shown by its id.
 */
export class NodeNames {
  /** `web-1 (node_…)` for detail views: the name people know and the id that commands take. */
  async both(id: string): Promise<string> {
    const name = await this.name(id);
    return name === id ? id : `${name} (${id})`;
  }

  private names: Map<string, string> | undefined;
  private loading: Promise<void> | undefined;

  constructor(private readonly client: StewardClient) {}

  async name(id: string): Promise<string> {
    if (!this.names) {
      this.loading ??= this.load();
      await this.loading;
    }
    const names = this.names!;
    const known = names.get(id);
    if (known !== undefined) return known;
    try {
      const node = await this.client.getNode(id);
      names.set(id, node.name);
    } catch {
      names.set(id, id);
    }
    return names.get(id)!;
  }

  private async load(): Promise<void> {
    const names = new Map<string, string>();
    try {
      // The CSV listing, not the JSON one: a node's JSON carries its command catalog (~25 KB),
      // so 50 nodes were 1.3 MB for the control plane to write and the CLI to read, for names.
      const [header, ...rows] = readCsv(await this.client.listNodesCsv({ limit: 10_000 }));
      const id = header?.indexOf('id') ?? -1;
      const name = header?.indexOf('name') ?? -1;
      if (id < 0 || name < 0) throw new Error('no id and name columns');
      for (const r of rows) if (r[id] && r[name]) names.set(r[id], r[name]);
    } catch {
      try {
        const { items } = await this.client.listNodes({ limit: 10_000 });
        for (const n of items) names.set(n.id, n.name);
      } catch {
        // names are cosmetic; ids still work
      }
    }
    this.names = names;
  }
}
