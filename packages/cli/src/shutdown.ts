import { eprintln } from './output.js';

/** Longest a graceful stop may take before the process exits anyway. */
const FORCE_AFTER_MS = 30_000;

/**
 * On SIGTERM/SIGINT run `stop` once, then exit 0 (1 if it failed). A second signal,
 * or a stop that hangs, exits at once so an operator is never stuck.
 */
export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      eprintln(`${signal} again: exiting now`);
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
}

/** What a long-running command awaits: it ends only through `onShutdown`. */
export function forever(): Promise<never> {
  return new Promise<never>(() => undefined);
}
