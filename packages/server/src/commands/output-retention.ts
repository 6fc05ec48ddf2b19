import type { Context } from '../core/context.js';
import { retentionMs } from '../core/retention.js';
import { pruneFinishedOutput } from '../store/queries/command-output.js';

/** Streamed output is kept this long after its command finished, unless configured otherwise. */
export const DEFAULT_OUTPUT_RETENTION_MS = 30 * 86_400_000;
/**
 * Shorter retentions are refused: a session's recording is made from its output when it ends
 * (or, after a crash, by the recordings' reconcile a little later), and must find it.
 */
const MIN_OUTPUT_RETENTION_MS = 3_600_000;
/** Commands whose output goes per transaction, so one sweep never holds the store for long. */
const PRUNE_BATCH = 200;
/** Batches per sweep: a backlog (retention turned on over years of output) drains over several sweeps. */
const PRUNE_BATCHES_PER_SWEEP = 10;
/** How often finished commands' output is looked at. */
export const OUTPUT_PRUNE_EVERY_MS = 10 * 60_000;

/**
 * How long streamed command output is kept after the command finished (ms), or null for ever:
 * the server option (`--output-retention`), else STEWARD_OUTPUT_RETENTION, else 30 days.
 */
export function outputRetentionMs(option: string | undefined, env: NodeJS.ProcessEnv = process.env): number | null {
  return retentionMs(
    { option, optionField: 'outputRetention', envVar: 'STEWARD_OUTPUT_RETENTION', defaultMs: DEFAULT_OUTPUT_RETENTION_MS, minMs: MIN_OUTPUT_RETENTION_MS },
    env,
  );
}

/**
 * Drops the stored output of commands that finished more than `retention` ago (their results keep
 * the tail). Each replica may run it: a second delete of the same rows changes nothing. Returns
 * how many commands lost their output.
 */
export async function pruneOutput(ctx: Context, retention: number | null, now: number): Promise<number> {
  if (retention === null) return 0;
  let pruned = 0;
  for (let i = 0; i < PRUNE_BATCHES_PER_SWEEP; i++) {
    const n = await ctx.store.batch((db) => pruneFinishedOutput(db, now - retention, PRUNE_BATCH));
    pruned += n;
    if (n < PRUNE_BATCH) break;
  }
  if (pruned > 0) ctx.log.info({ commands: pruned }, 'dropped the stored output of commands finished before the output retention');
  return pruned;
}
