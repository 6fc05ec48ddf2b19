import { eprintln } from './output.js';

/** How soon a second Ctrl-C must follow the first to cancel the remote work. */
export const SECOND_INTERRUPT_MS = 3000;
/** The shell's code for "ended by SIGINT". */
export const EXIT_INTERRUPTED = 130;

export interface RemoteWork {
  /** `job job_x`, `task task_x`: what runs on the nodes. */
  what: string;
  /** The command that cancels it later, e.g. `steward jobs cancel job_x`. */
  cancelCommand: string;
  /** Asks the server to cancel; the caller's own wait then sees the work end. */
  cancel(): Promise<unknown>;
  /** Called before each message is printed (to erase a live status line on the terminal). */
  beforeMessage?(): void;
}

/**
 * Ctrl-C while a command waits for work that runs elsewhere. Leaving must not look like
 * stopping: the first Ctrl-C says what goes on running and how to cancel it, then exits
 * after SECOND_INTERRUPT_MS; a second within that time (or the first, with `cancelAtOnce`)
 * cancels the work and lets the caller wait for its end. A third exits at once.
 * Returns the function that removes the handler once the wait is over.
 */
export function onInterrupt(work: RemoteWork, cancelAtOnce = false): () => void {
  let firstAt = 0;
  let cancelling = false;
  let leave: NodeJS.Timeout | undefined;
  const handler = () => {
    work.beforeMessage?.();
    if (cancelling) {
      eprintln(`interrupted again: not waiting any longer (${work.what} was asked to cancel)`);
      process.exit(EXIT_INTERRUPTED);
    }
    if (cancelAtOnce || (firstAt > 0 && Date.now() - firstAt <= SECOND_INTERRUPT_MS)) {
      clearTimeout(leave);
      cancelling = true;
      process.exitCode = EXIT_INTERRUPTED;
      eprintln(`cancelling ${work.what}; waiting for it to end (Ctrl-C again to stop waiting)`);
      work.cancel().catch((e: unknown) => {
        eprintln(`error: could not cancel ${work.what}: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      });
      return;
    }
    firstAt = Date.now();
    eprintln(`\n${work.what} goes on running. To cancel it: ${work.cancelCommand}`);
    eprintln(`(Ctrl-C again within ${SECOND_INTERRUPT_MS / 1000}s cancels it now)`);
    leave = setTimeout(() => process.exit(EXIT_INTERRUPTED), SECOND_INTERRUPT_MS);
  };
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGINT', handler);
    clearTimeout(leave);
  };
}
