import { BACKUPX_OFFLINE_AFTER_MS, ValidationError } from '@steward/protocol';
import { BackupXTransport } from '../../agents/transports/backupx/transport.js';
import type { Transport } from '../../agents/transport.js';
import type { Context } from '../../core/context.js';
import { envPositiveInt } from '../../core/env.js';
import type { Feature } from '../../core/feature.js';
import { BackupXIdentity } from './identity.js';

/**
 * BackupX agents (`backupx agent --master <steward url> --token <enrollment token>`) as Steward
 * nodes: their agent API on the main HTTP server, always on (a request without a token that is
 * a Steward enrollment token or a BackupX node's is refused).
 */
/** The part of the server's options it reads (ServerOptions.backupxSilenceMs). */
interface BackupXOptions {
  backupxSilenceMs?: number;
}

export function backupxFeature(deps: { ctx: Context; options: BackupXOptions; transports: { use(transport: Transport): unknown } }): Feature {
  deps.transports.use(new BackupXTransport(deps.ctx, { nodes: new BackupXIdentity(deps.ctx), silenceMs: silenceMs(deps.options) }));
  return { name: 'backupx' };
}

/** BackupX calls an agent offline after 45 s without a heartbeat; tests shorten it. */
function silenceMs(o: BackupXOptions): number {
  const ms = o.backupxSilenceMs ?? envPositiveInt('STEWARD_BACKUPX_SILENCE_MS', 'milliseconds') ?? BACKUPX_OFFLINE_AFTER_MS;
  if (!Number.isInteger(ms) || ms <= 0) throw new ValidationError('the BackupX silence must be a positive integer of milliseconds', [{ field: 'backupxSilenceMs', rule: 'positive integer' }]);
  return ms;
}
