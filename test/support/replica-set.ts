import { startServerProcess, type ServerProc } from './processes.js';

/** What every replica of one store needs besides its own data dir: the store, the admin token, the signing key's dir. */
export interface ReplicaShared {
  db: string;
  token: string;
  /** The first replica's data dir, whose signing and secrets keys the others copy. */
  keysFrom: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts `count` control-plane replicas on one PostgreSQL database (`db`): the first creates the
 * admin token and keys, the others share them. For tests and the soak that kill and restart replicas.
 */
export async function startReplicas(db: string, count: number, env?: NodeJS.ProcessEnv): Promise<{ servers: ServerProc[]; shared: ReplicaShared }> {
  const first = await startServerProcess({ db, env });
  const shared: ReplicaShared = { db, token: first.token, keysFrom: first.dataDir, env };
  const rest = await Promise.all(Array.from({ length: count - 1 }, () => startServerProcess({ db, token: shared.token, signingKeyFrom: shared.keysFrom, env })));
  return { servers: [first, ...rest], shared };
}

/**
 * Starts a replica again after it died (kill -9) or was stopped: same port (agents' server lists
 * name its URL) and data dir.
 */
export async function restartReplica(dead: ServerProc, shared: ReplicaShared): Promise<ServerProc> {
  await dead.kill('SIGKILL');
  return startServerProcess({ db: shared.db, port: dead.port, dataDir: dead.dataDir, token: shared.token, env: shared.env });
}
