import { storeTargets } from '../../packages/server/test/helpers/databases.js';

/** A fresh PostgreSQL database on the test cluster; fails loudly when none is configured. */
export async function freshPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const { target, drop } = await storeTargets().find((t) => t.name === 'postgres')!.create();
  return { url: target, drop };
}
