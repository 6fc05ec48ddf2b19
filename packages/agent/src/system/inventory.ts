import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { Inventory } from '@steward/protocol';
import type { AgentConfig } from '../core/config-schema.js';
import type { CommandTypeInfo } from '@steward/protocol';
import { detectCapabilities } from './capabilities.js';
import { getStatsCollector, type StatsCollector } from './stats.js';

export interface InventoryOptions {
  stats?: StatsCollector;
  /** os-release files in the order systemd documents; tests point them at fixtures. */
  osReleaseFiles?: string[];
  env?: NodeJS.ProcessEnv;
}

/** PRETTY_NAME from os-release (shell-style `KEY="value"` lines), or undefined. */
export async function readDistro(files = ['/etc/os-release', '/usr/lib/os-release']): Promise<string | undefined> {
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    const m = text.match(/^PRETTY_NAME=(.*)$/m);
    if (!m?.[1]) return undefined;
    const raw = m[1].trim();
    const quoted = raw.match(/^(["'])(.*)\1$/);
    const value = quoted ? quoted[2]!.replace(/\\(["\\$`])/g, '$1') : raw;
    return value || undefined;
  }
  return undefined;
}

/** Addresses other nodes could reach; loopback and IPv6 link-local ones are noise. */
export function externalAddresses(): string[] {
  const out = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || (a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:'))) continue;
      out.add(a.address);
    }
  }
  return [...out].slice(0, 256);
}

export async function collectInventory(
  config: AgentConfig,
  /** What the loaded modules offer (the module registry). */
  registry: { modules(): string[]; types(): CommandTypeInfo[] },
  agentVersion: string,
  opts: InventoryOptions = {},
): Promise<Inventory> {
  const [distro, detected, disks] = await Promise.all([
    readDistro(opts.osReleaseFiles),
    detectCapabilities({ env: opts.env }),
    (opts.stats ?? getStatsCollector()).disks(),
  ]);
  const cpuModel = os.cpus()[0]?.model.trim();
  const inventory: Inventory = {
    hostname: os.hostname().slice(0, 255),
    addresses: externalAddresses(),
    os: { platform: process.platform, release: os.release() },
    arch: os.arch(),
    agentVersion,
    cpuCores: config.resources.cpuCores ?? os.availableParallelism(),
    memoryBytes: config.resources.memoryBytes ?? os.totalmem(),
    disks: disks.slice(0, 256),
    capabilities: [...new Set([...detected, ...config.capabilities])].sort().slice(0, 1024),
    modules: registry.modules(),
    commandTypes: registry.types(),
  };
  if (distro) inventory.os.distro = distro;
  if (cpuModel) inventory.cpuModel = cpuModel;
  return inventory;
}
