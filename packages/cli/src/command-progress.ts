import type { StewardClient } from '@steward/client';
import type { CommandProgress, StewardEvent } from '@steward/protocol';
import type { NodeNames } from './node-names.js';
import { ProgressBoard } from './progress.js';

type ProgressEvent = Extract<StewardEvent, { kind: 'command.progress' }>;

/** Which commands to show: one command, or every command of a job. */
export interface ProgressTarget {
  commandId?: string;
  jobId?: string;
}

/** A row's label and note: `web-1 archiving … 12/40 files`. */
export function progressRow(node: string, p: CommandProgress): { label: string; note: string } {
  const files = p.filesDone === undefined ? '' : `${p.filesDone}${p.filesTotal === undefined ? '' : `/${p.filesTotal}`} files`;
  return { label: `${node} ${p.phase.padEnd(11)}`, note: files };
}

/** Draws one event's progress on the board (one row per node). */
export async function showProgress(board: ProgressBoard, e: ProgressEvent, names: Pick<NodeNames, 'name'>): Promise<void> {
  const { label, note } = progressRow(await names.name(e.nodeId), e.progress);
  board.set(e.nodeId, label, e.progress.done, e.progress.total, e.progress.unit === 'bytes' ? 'bytes' : 'count', note);
}

/**
 * Follows `command.progress` events and draws a bar per node on stderr, only when stderr is a
 * terminal (piped output and --json get nothing). Best effort: if the event stream cannot be
 * opened, there is simply no bar. Open it before submitting, so early phases are seen; set the
 * target once known. `stop` removes the bars before the summary is printed.
 */
export async function followProgress(client: StewardClient, names: Pick<NodeNames, 'name'>, enabled: boolean) {
  const target: ProgressTarget = {};
  const board = new ProgressBoard();
  const on = enabled && process.stderr.isTTY === true;
  const stream = on ? await client.openEvents({ kinds: ['command.progress'] }).catch(() => null) : null;
  let stopped = false;
  void (async () => {
    if (!stream) return;
    try {
      for await (const { event } of stream) {
        if (event.kind !== 'command.progress') continue;
        if (event.commandId !== target.commandId && (!target.jobId || event.jobId !== target.jobId)) continue;
        await showProgress(board, event, names);
        if (stopped) board.clear();
      }
    } catch {
      // The stream broke off: the bar stops; the wait for the result goes on regardless.
    }
  })();
  return {
    target,
    stop(): void {
      stopped = true;
      stream?.close();
      board.clear();
    },
  };
}
