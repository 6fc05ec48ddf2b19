type Undici = typeof import('undici');

/**
 * undici, imported on first use. In the compiled build (esbuild, code splitting) a dynamic
 * import of this CommonJS package yields only `default` (its module.exports), not the named
 * exports node's own import gives, so `{ Agent } = await import('undici')` was undefined there.
 */
export async function loadUndici(): Promise<Undici> {
  const mod = (await import('undici')) as Undici & { default?: Undici };
  return mod.default ?? mod;
}
