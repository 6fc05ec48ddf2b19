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

