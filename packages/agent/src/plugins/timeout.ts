import { PluginInvalidError } from './errors.js';

/** An import, factory or start that takes longer than this is refused (top-level await that never ends). */
export const PLUGIN_LOAD_TIMEOUT_MS = 10_000;

export function withTimeout<T>(plugin: string, what: string, p: Promise<T>, ms = PLUGIN_LOAD_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PluginInvalidError(plugin, `${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
