import type { StewardClient } from '@steward/client';

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
      const { items } = await this.client.listNodes({ limit: 10_000 });
      for (const n of items) names.set(n.id, n.name);
    } catch {
      // names are cosmetic; ids still work
    }
    this.names = names;
  }
}
