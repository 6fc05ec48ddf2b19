import type { ProgressSink } from '../../core/progress.js';

export type BackupPhase = 'scanning' | 'archiving' | 'checking' | 'uploading' | 'downloading' | 'extracting' | 'verifying';

/**
 * One phase of a backup, restore or verify, counted in bytes (and files where they are known)
 * and told to the command's progress sink as it moves. `done` never passes `total` (an estimate
 * may be short); `end` settles both at what was really done, so every phase ends at its total.
 */
export class Phase {
  private done = 0;
  private files = 0;

  constructor(
    private readonly sink: ProgressSink,
    readonly phase: BackupPhase,
    private total: number | null,
    private readonly filesTotal?: number,
  ) {
    this.tell();
  }

  add(bytes: number, files = 0): void {
    this.done += bytes;
    this.files += files;
    this.tell();
  }

  /** The phase finished: done is the total, whatever the estimate said. */
  end(): void {
    this.total = this.done = Math.max(this.done, this.total ?? 0);
    if (this.filesTotal !== undefined) this.files = Math.max(this.files, this.filesTotal);
    this.tell();
  }

  private tell(): void {
    const counted = this.filesTotal !== undefined || this.files > 0;
    this.sink({
      phase: this.phase,
      unit: 'bytes',
      done: this.total === null ? this.done : Math.min(this.done, this.total),
      total: this.total,
      ...(counted ? { filesDone: this.filesTotal === undefined ? this.files : Math.min(this.files, this.filesTotal) } : {}),
      ...(this.filesTotal !== undefined ? { filesTotal: this.filesTotal } : {}),
    });
  }
}
