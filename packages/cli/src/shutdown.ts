import { eprintln } from './output.js';

/** Longest a graceful stop may take before the process exits anyway. */
const FORCE_AFTER_MS = 30_000;
/** How often a process tied to its parent looks whether the parent is still there. */
const PARENT_POLL_MS = 500;

export interface ShutdownOptions {
  /**
   * Stop as if signalled when the parent process goes away (this process is re-parented).
   * For processes another one owns: the local agent of `steward up`, and `steward up` run by
   * `npm start`, whose shell dies on SIGTERM without passing the signal on.
   */
  withParent?: boolean;
}

/**
 * On SIGTERM/SIGINT (or the parent's end, with `withParent`) run `stop` once, then exit 0
 * (1 if it failed). A second signal, or a stop that hangs, exits at once so an operator is
 * never stuck.
 */
export function onShutdown(stop: () => Promise<void>, opts: ShutdownOptions = {}): void {
  let stopping = false;
  const handler = (reason: string) => {
    if (stopping) {
      eprintln(`${reason} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    setTimeout(() => {
      eprintln('shutdown took too long: exiting');
      process.exit(1);
    }, FORCE_AFTER_MS).unref();
    stop().then(
      () => process.exit(0),
      (e: unknown) => {
        eprintln(`error while stopping: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  if (opts.withParent) {
    const parent = process.ppid;
    const timer = setInterval(() => {
      // process.ppid asks the kernel each time; a changed value means the parent has exited.
      if (process.ppid === parent) return;
      clearInterval(timer);
      eprintln(`parent process ${parent} is gone: stopping`);
      handler('parent exit');
    }, PARENT_POLL_MS);
    timer.unref();
  }
}

/** What a long-running command awaits: it ends only through `onShutdown`. */
export function forever(): Promise<never> {
  return new Promise<never>(() => undefined);
}
