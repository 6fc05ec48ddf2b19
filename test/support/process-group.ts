import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** Process groups of daemons the tests started; killed when the test process exits, whatever happened. */
const groups = new Set<number>();
process.on('exit', () => {
  for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
});

function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: nobody left in the group
  }
}

function groupAlive(pgid: number): boolean {
  return signalGroup(pgid, 0);
}

export interface GroupProc {
  child: ChildProcess;
  /** Everything the program wrote to stdout and stderr. */
  output(): string;
  /**
   * Stops the whole group: `signal` first, then SIGKILL to whatever is left after `graceMs`
   * (a worker whose master is gone included). Returns when no process of the group is left.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/**
 * Runs a daemon in the foreground as the leader of its own process group, so stopping it
 * reaches its workers and children too, and a test that fails or times out leaves none behind.
 */
export function spawnGroup(command: string, args: string[], opts: SpawnOptions = {}): GroupProc {
  const child = spawn(command, args, { ...opts, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pgid = child.pid;
  if (pgid !== undefined) groups.add(pgid);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r();
    else child.once('exit', () => r());
  });
  return {
    child,
    output: () => out,
    async stop(signal = 'SIGTERM', graceMs = 5000) {
      if (pgid === undefined) return;
      signalGroup(pgid, signal);
      const deadline = Date.now() + graceMs;
      while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      signalGroup(pgid, 'SIGKILL');
      await exited;
      // Bounded: a killed process that nobody reaps (a container without init) stays a zombie.
      const reaped = Date.now() + 5000;
      while (groupAlive(pgid) && Date.now() < reaped) await new Promise((r) => setTimeout(r, 25));
      groups.delete(pgid);
    },
  };
}
