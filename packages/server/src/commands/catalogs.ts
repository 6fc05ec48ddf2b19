import type { CommandTypeInfo, Inventory } from '@steward/protocol';
import { EMPTY_INVENTORY, fromJson } from '../store/rows.js';
import type { NodesTable } from '../store/schema.js';

/**
 * The command types each node declared, parsed once and shared: nodes with the same modules
 * get the same array, so checking one payload against thousands of nodes checks it once.
 */
export class CatalogCache {
  private readonly interned = new Map<string, CommandTypeInfo[]>();
  private readonly byNode = new Map<string, { source: string; types: CommandTypeInfo[] }>();

  remember(nodeId: string, types: CommandTypeInfo[]): CommandTypeInfo[] {
    const key = JSON.stringify(types);
    let shared = this.interned.get(key);
    if (!shared) {
      shared = types;
      this.interned.set(key, shared);
    }
    this.byNode.set(nodeId, { source: '', types: shared });
    return shared;
  }

  forNode(row: Pick<NodesTable, 'id' | 'inventory'>): CommandTypeInfo[] {
    const cached = this.byNode.get(row.id);
    // Remembered from a hello on this replica, or parsed from this very inventory text before.
    if (cached && (cached.source === '' || cached.source === row.inventory)) return cached.types;
    const inv = fromJson<Inventory>(row.inventory) ?? EMPTY_INVENTORY;
    const types = this.remember(row.id, inv.commandTypes);
    this.byNode.set(row.id, { source: row.inventory, types });
    return types;
  }

  /** What this replica last heard from the node, without reading its row; undefined if nothing. */
  forNodeId(nodeId: string): CommandTypeInfo[] | undefined {
    return this.byNode.get(nodeId)?.types;
  }

  forget(nodeId: string): void {
    this.byNode.delete(nodeId);
  }
}
