import pino from 'pino';
import { ensureBundle } from '../packages/server/src/dashboard/bundle.js';

/**
 * Builds the dashboard bundle once before any test, so the control planes the tests start in
 * parallel all find it fresh instead of queueing on the build lock.
 */
export default async function setup(): Promise<void> {
  const ok = await ensureBundle(pino({ level: 'warn' }));
  if (!ok) throw new Error('the dashboard bundle (packages/web) could not be built; see the log above');
}
