import { createHash } from 'node:crypto';
import type { ListDirAsk } from './list-dir.js';

const MAX_ID = 2_147_483_647;
/** Results remembered per node, so a repeated result is answered `ok` and changes nothing. */
const FINISHED_KEPT = 256;
/** Commands a node may hold taken at once (BackupX runs one at a time; this only bounds memory). */
const TAKEN_KEPT = 1024;

/**
 * BackupX agents know commands (and nodes) by unsigned integers, Steward by string ids. The
 * number is derived from the id (31 bits of its SHA-256), so it does not depend on this
 * process's history: a late result after a restart cannot land on another command by reuse.
 */
export function backupxIdOf(stewardId: string): number {
  return (createHash('sha256').update(stewardId).digest().readUInt32BE(0) % MAX_ID) + 1;
}

interface Taken {
  commandId: string;
  ask: ListDirAsk;
}

/** One node's commands between the poll that handed them out and the result that ends them. */
export class CommandLedger {
  private readonly taken = new Map<number, Taken>();
  private readonly finished: number[] = [];

  /** Records a command the device took; returns the number it knows it by. */
  take(commandId: string, ask: ListDirAsk): number {
    let id = backupxIdOf(commandId);
    // Two commands of one node on the same 31 bits: the later one takes the next free number.
    while (this.taken.has(id) && this.taken.get(id)!.commandId !== commandId) id = (id % MAX_ID) + 1;
    this.taken.set(id, { commandId, ask });
    if (this.taken.size > TAKEN_KEPT) this.taken.delete(this.taken.keys().next().value!);
    return id;
  }

  get(id: number): Taken | undefined {
    return this.taken.get(id);
  }

  wasFinished(id: number): boolean {
    return this.finished.includes(id);
  }

  finish(id: number): void {
    this.taken.delete(id);
    this.finished.push(id);
    if (this.finished.length > FINISHED_KEPT) this.finished.shift();
  }
}
