/**
 * How many cases each fuzz property runs: a few thousand in the suite, `npm run fuzz` sets
 * STEWARD_FUZZ_RUNS=100000. STEWARD_FUZZ_SEED replays a run fast-check reported.
 */
export const FUZZ_RUNS = Number(process.env.STEWARD_FUZZ_RUNS ?? 2000);
export const FUZZ_SEED = process.env.STEWARD_FUZZ_SEED ? Number(process.env.STEWARD_FUZZ_SEED) : undefined;
/** Long runs need time: a few ms per case on this machine when quiet, tens when loaded. */
export const FUZZ_TIMEOUT_MS = 120_000 + FUZZ_RUNS * 100;
