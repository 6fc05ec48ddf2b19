import type { ServerLink } from '../../link/server-link.js';
import type { ModuleInstance } from '../types.js';
import { HandlerFailure } from '../types.js';
import type { KeptBackups } from './kept.js';

/** What the backup module keeps while the agent runs; handlers get it as `ctx.module`. */
export class BackupRuntime implements ModuleInstance {
  constructor(
    /** Sources and restore targets must be inside one of these. */
    readonly roots: string[],
    readonly kept: KeptBackups,
    /** The control plane's artifact store, for backups kept there. */
    readonly link: ServerLink,
  ) {}

  async stop(): Promise<void> {}
}

export function runtimeOf(module: unknown): BackupRuntime {
  if (!(module instanceof BackupRuntime)) throw new HandlerFailure('module_not_started', 'the backup module is not running on this agent');
  return module;
}
