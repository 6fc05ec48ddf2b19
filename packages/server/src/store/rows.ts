import type { Inventory } from '@steward/protocol';

/** JSON columns: stored as text on both databases. */

export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function fromJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export const EMPTY_INVENTORY: Inventory = {
  hostname: '',
  addresses: [],
  os: { platform: '', release: '' },
  arch: '',
  agentVersion: '',
  cpuCores: 0,
  memoryBytes: 0,
  disks: [],
  capabilities: [],
  modules: [],
  commandTypes: [],
};
