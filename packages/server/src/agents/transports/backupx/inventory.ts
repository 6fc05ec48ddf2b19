import type { BackupXHeartbeat, Inventory } from '@steward/protocol';
import { EMPTY_INVENTORY, fromJson } from '../../../store/rows.js';
import { BACKUPX_COMMAND_TYPES } from './list-dir.js';

/**
 * A BackupX node's inventory: what its heartbeat says (host, address, OS, architecture, agent
 * version) and the one command type it carries. It reports no CPU, memory or disks.
 */
export function inventoryFromHeartbeat(hb: BackupXHeartbeat, source: string): Inventory {
  return {
    ...EMPTY_INVENTORY,
    hostname: hb.hostname ?? '',
    addresses: [hb.ipAddress || source].filter((a) => a !== ''),
    os: { platform: hb.os ?? '', release: '' },
    arch: hb.arch ?? '',
    agentVersion: hb.agentVersion ?? '',
    modules: ['fs'],
    commandTypes: BACKUPX_COMMAND_TYPES,
  };
}

/** The stored inventory, for a connection a poll or result opens (the heartbeat's words are the last known). */
export function storedInventory(json: string): Inventory {
  return { ...EMPTY_INVENTORY, ...(fromJson<Inventory>(json) ?? {}), modules: ['fs'], commandTypes: BACKUPX_COMMAND_TYPES };
}
