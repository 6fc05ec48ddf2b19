import { afterAll, beforeAll } from 'vitest';
import { freshPgDatabase } from './pg.js';
import { startAgentProcess, startServerProcess, waitOnline, type AgentProc, type ServerProc } from './processes.js';

export interface TwoReplicas {
  db: Awaited<ReturnType<typeof freshPgDatabase>>;
  /** The replica the agent is connected to. */
  a: ServerProc;
  /** The other replica: same store, admin token and signing key. */
  b: ServerProc;
  agent: AgentProc;
}

/**
 * For the enclosing describe: two control-plane replicas on a fresh PostgreSQL database and one
 * agent (`nodeName`) connected to replica `a`; all stopped after the describe. Read the fields
 * inside tests (they are set in beforeAll).
 */
export function useTwoReplicasWithAgent(nodeName: string, startTimeoutMs: number): TwoReplicas {
  const r = {} as TwoReplicas;
  beforeAll(async () => {
    r.db = await freshPgDatabase();
    r.a = await startServerProcess({ db: r.db.url });
    r.b = await startServerProcess({ db: r.db.url, token: r.a.token, signingKeyFrom: r.a.dataDir });
    const { token } = await r.a.client.createEnrollmentToken({});
    r.agent = startAgentProcess({ server: r.a.url, token, name: nodeName });
    await waitOnline(r.a, nodeName, r.agent);
  }, startTimeoutMs);

  afterAll(async () => {
    await r.agent?.kill();
    await Promise.all([r.a?.kill(), r.b?.kill()]);
    await r.db?.drop();
  });
  return r;
}

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
