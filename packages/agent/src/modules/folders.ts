import type { AgentModule } from './types.js';
import agent from './agent/index.js';
import backup from './backup/index.js';
import exec from './exec/index.js';
import fs from './fs/index.js';
import monitor from './monitor/index.js';
import service from './service/index.js';
import shell from './shell/index.js';
import stats from './stats/index.js';
import sys from './sys/index.js';
import task from './task/index.js';

export const MODULE_NAME_PATTERN = /^[a-z][a-z0-9]*$/;

type ModuleImport = () => Promise<{ default?: AgentModule }>;

/**
 * The built-in modules, one folder each, listed by hand rather than found by reading this
 * folder: a bundle (dist/) has no folders to read. A test checks this list against the folders
 * on disk. The default ones (core/default-modules.ts) are imported statically: every agent
 * starts them, and as dynamic imports they made esbuild cut the agent's start into 35 chunk
 * files instead of 15, each resolved, read and compiled on its own before the first connect.
 * The others (ftp, nginx) are imported on first use; so is what a module needs only for some
 * commands (tar, node-pty).
 */
export const BUILTIN_MODULES: Readonly<Record<string, ModuleImport>> = {
  agent: () => Promise.resolve({ default: agent }),
  backup: () => Promise.resolve({ default: backup }),
  exec: () => Promise.resolve({ default: exec }),
  fs: () => Promise.resolve({ default: fs }),
  ftp: () => import('./ftp/index.js'),
  monitor: () => Promise.resolve({ default: monitor }),
  nginx: () => import('./nginx/index.js'),
  service: () => Promise.resolve({ default: service }),
  shell: () => Promise.resolve({ default: shell }),
  stats: () => Promise.resolve({ default: stats }),
  sys: () => Promise.resolve({ default: sys }),
  task: () => Promise.resolve({ default: task }),
};

/** The built-in module names, sorted. Sync: config loading needs it. */
export function moduleFolderNames(): string[] {
  return Object.keys(BUILTIN_MODULES).sort();
}
