import type { Logger } from 'pino';

/**
 * Plugin code can leave a promise rejected with nobody listening, or throw from its own timer;
 * Node ends the process for either by default. While plugins run, a rejection nobody handled is
 * logged (whoever caused it), and an uncaught exception whose stack is in plugin code is logged;
 * any other uncaught exception still ends the process, as before. Returns the uninstaller.
 */
export function guardPluginFailures(log: Logger, pluginDirs: string[]): () => void {
  const fromPlugin = (err: unknown) => err instanceof Error && pluginDirs.some((d) => err.stack?.includes(d));
  const onRejection = (reason: unknown) => {
    log.error({ err: reason, code: fromPlugin(reason) ? 'plugin_invalid' : undefined }, 'a promise was rejected and nobody handled it; the agent keeps running');
  };
  const onException = (err: Error) => {
    if (fromPlugin(err)) {
      log.error({ err, code: 'plugin_invalid' }, 'plugin code threw outside a command; the agent keeps running');
      return;
    }
    log.fatal({ err }, 'uncaught exception');
    // What Node does without a handler: print it and exit with 1 (pino's destination is synchronous on stderr/stdout).
    process.exitCode = 1;
    process.exit(1);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
