import type { AgentModule } from './types.js';

export const MODULE_NAME_PATTERN = /^[a-z][a-z0-9]*$/;

type ModuleImport = () => Promise<{ default?: AgentModule }>;

/**
 * The built-in modules, one folder each, listed by hand rather than found by reading this
 * folder: a bundle (dist/) has no folders to read. Imported on first use, so an idle agent
 * does not load what it does not run. A test checks this list against the folders on disk.
 */
export const BUILTIN_MODULES: Readonly<Record<string, ModuleImport>> = {
  agent: () => import('./agent/index.js'),
  backup: () => import('./backup/index.js'),
  exec: () => import('./exec/index.js'),
  fs: () => import('./fs/index.js'),
  ftp: () => import('./ftp/index.js'),
  monitor: () => import('./monitor/index.js'),
  nginx: () => import('./nginx/index.js'),
  service: () => import('./service/index.js'),
  shell: () => import('./shell/index.js'),
  stats: () => import('./stats/index.js'),
  sys: () => import('./sys/index.js'),
  task: () => import('./task/index.js'),
};

/** The built-in module names, sorted. Sync: config loading needs it. */
export function moduleFolderNames(): string[] {
  return Object.keys(BUILTIN_MODULES).sort();
}
