import type { ModuleInstance } from '../types.js';
import { HandlerFailure } from '../types.js';
import type { KeptBackups } from './kept.js';
import type { ArtifactTransfer } from './transfer.js';

/** What the backup module keeps while the agent runs; handlers get it as `ctx.module`. */
export class BackupRuntime implements ModuleInstance {
  constructor(
    /** Sources and restore targets must be inside one of these. */
    readonly roots: string[],
    readonly kept: KeptBackups,
    private readonly transferOrNull: ArtifactTransfer | null,
    readonly node: { id: string; name: string },
  ) {}

  get transfer(): ArtifactTransfer {
    if (!this.transferOrNull) throw new HandlerFailure('not_enrolled', 'this agent has no node credential, so it cannot reach the artifact store');
    return this.transferOrNull;
  }

  async stop(): Promise<void> {}
}

export function runtimeOf(module: unknown): BackupRuntime {
  if (!(module instanceof BackupRuntime)) throw new HandlerFailure('module_not_started', 'the backup module is not running on this agent');
  return module;
}
