// How Steward's long-running processes start node, in one place: the agent package's launcher
// (scripts/package.mjs) and the benchmarks read it, and packages/cli/bin/steward.js carries the
// control plane's flag in its sh lines (test/runtime-tuning.test.ts checks the two agree).
// Figures: docs/build.md ("Runtime flags").
//
// Young generation: V8 grows it up to 16 MiB per semi-space while a process starts (module
// compilation allocates fast) and never gives it back, so an idle process holds 30–50 MiB of
// young-generation pages it does not use. Smaller semi-spaces mean more frequent scavenges,
// each as cheap as before (a scavenge costs the live young objects, not the space).

/** Node flags of the control plane: bin/steward.js gives them to the LONG_RUNNING_COMMANDS. */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=2'];

/**
 * The `steward` commands that bin/steward.js starts with SERVER_NODE_FLAGS; every other one
 * (`nodes ls`, `run`, …) runs node with no flag, because any V8 flag makes node reject the code
 * cache of its own built-in modules and compile them again on every call (docs/build.md).
 */
export const LONG_RUNNING_COMMANDS = ['server', 'up', 'agent'];

/**
 * Node flags of the agent (bin/steward-agent in the package). An agent idles far more than it
 * computes, and its hot paths (spawning, hashing, sockets, JSON) are native code, so it trades
 * peak JavaScript speed for memory: --optimize-for-size (smaller heap growth steps), --no-opt
 * (no TurboFan: its code pages of the node binary are never touched, ~4 MiB of RSS) and
 * --no-sparkplug (no baseline machine code beside the bytecode: 1.3 MiB idle, 3–6 MiB with 50
 * services, whose install and supervision paths it had compiled). Measured per `exec.run`
 * command, agent CPU did not grow (15.7–17.9 ms with --no-opt, 18.5–19.3 ms without, at load 15;
 * 5–6 ms with and without --no-sparkplug, at load 10). Any V8 flag costs start time: node's
 * code cache of its built-in modules is rejected (docs/build.md, "Footprint").
 */
export const AGENT_NODE_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size', '--no-opt', '--no-sparkplug'];

/**
 * Environment of the agent: glibc keeps a malloc arena per thread that has allocated (libuv's
 * pool, V8's helper threads); an idle agent allocates little, and more arenas only keep freed pages.
 */
export const AGENT_ENV = { MALLOC_ARENA_MAX: '1' };
