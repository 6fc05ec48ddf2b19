import { StewardClient } from '@steward/client';
import type { EnrollmentTokenCreated } from '@steward/protocol';
import { Api } from './api.js';
import { assertAlive, startControlPlane, STEWARD_BIN, stewardArgs, agentEnv, type Launcher } from './control-plane-process.js';
import { NODE_NAME, waitOnline } from './ping.js';
import { makeTempDir, removeTempDir, spawnTracked, stopProcess } from './processes.js';
import { summarize, type Summary } from './stats.js';

export interface FirstByteOptions {
  runs: number;
  launcher: Launcher;
  log: (line: string) => void;
}

export interface FirstByteResult {
  runs: number;
  /** The process on the node writes its clock → `steward run`'s stdout has it, ms. */
  firstByte: Summary;
  /** Whole `steward run` invocations (start of the CLI → exit), ms, for context. */
  cliRun: Summary;
  /**
   * The same, where the process keeps running 500 ms after its write instead of exiting at once:
   * on 2 cores the exiting process's teardown (and the agent's handling of its end) competes with
   * the first chunk's path, so this separates streaming latency from that contention.
   */
  firstByteStaying: Summary;
  /** The same first line followed in this process with the client library's jobOutput (the CLI's code path, no CLI process). */
  viaClient: {
    /** process writes → the `output` event here, ms. */
    firstByte: Summary;
    /** process writes → the agent stamps the chunk (`at`), ms: the agent's share. */
    agentStamp: Summary;
  };
}

/** Waits this long on the node before writing, so the CLI follows the job's output live by then. */
const WRITE_AFTER_MS = 2000;

/** Wall clock with sub-millisecond resolution, comparable between processes of one machine. */
const CLOCK = '(performance.timeOrigin + performance.now()).toFixed(3)';
const now = () => performance.timeOrigin + performance.now();

/**
 * First output byte of `exec.run` seen by `steward run`: one real agent process on loopback;
 * each run starts the real CLI (`steward run --node … -- node -e …`), the process on the node
 * writes its own clock, and this process notes when that line comes out of the CLI's stdout
 * (same machine, same clock). That includes the CLI's pipe to us, so it is if anything high.
 */
export async function runFirstByte(o: FirstByteOptions): Promise<FirstByteResult> {
  const cp = await startControlPlane({ launcher: o.launcher });
  const api = new Api(cp.url, cp.token, 2);
  const agentDir = makeTempDir('agent');
  let agent: ReturnType<typeof spawnTracked> | undefined;
  try {
    const { token } = await api.post<EnrollmentTokenCreated>('/api/v1/enrollment-tokens', { uses: 1, ttlSeconds: 600 });
    agent = spawnTracked(
      process.execPath,
      stewardArgs(o.launcher, 'agent', ['--server', cp.url, '--enroll-token', token, '--data-dir', agentDir, '--name', NODE_NAME, '--log-level', 'warn']),
    { env: agentEnv(o.launcher) },
  );
    const agentProc = agent;
    await waitOnline(api, () => {
      assertAlive(agentProc, 'agent');
      cp.assertAlive();
    });
    o.log(`first-byte: agent online; ${o.runs} runs of steward run (plus 2 warm-up)`);
    const script = `setTimeout(() => process.stdout.write('T' + ${CLOCK} + '\\n'), ${WRITE_AFTER_MS})`;
    const cli = async (code: string) => {
      const latencies: number[] = [];
      const runs: number[] = [];
      for (let i = 0; i < o.runs + 2; i++) {
        const r = await cliRun(cp.url, cp.token, code);
        if (i < 2) continue;
        latencies.push(r.latency);
        runs.push(r.took);
      }
      return { latencies, runs };
    };
    const exiting = await cli(script);
    o.log(`first-byte: ${o.runs} runs of steward run where the process stays 500 ms after its write`);
    const staying = await cli(`${script}; setTimeout(() => {}, ${WRITE_AFTER_MS + 500})`);
    o.log(`first-byte: ${o.runs} runs followed with the client library`);
    const viaClient = await clientRuns(cp.url, cp.token, o.runs, script);
    return { runs: o.runs, firstByte: summarize(exiting.latencies), cliRun: summarize(exiting.runs), firstByteStaying: summarize(staying.latencies), viaClient };
  } finally {
    await api.close().catch(() => {});
    if (agent) await stopProcess(agent);
    removeTempDir(agentDir);
    await cp.stop();
  }
}

/** One real `steward run` of `node -e script`: when the clock line came out of its stdout, and how long the CLI ran. */
async function cliRun(url: string, token: string, script: string): Promise<{ latency: number; took: number }> {
  const started = now();
  const cli = spawnTracked(process.execPath, [STEWARD_BIN, 'run', '--node', NODE_NAME, '--timeout', '30s', '--', process.execPath, '-e', script], {
    env: { ...process.env, STEWARD_SERVER: url, STEWARD_TOKEN: token, NO_COLOR: '1' },
  });
  let latency: number | undefined;
  let seen = '';
  cli.child.stdout!.on('data', (b: Buffer) => {
    const at = now();
    seen += b.toString('utf8');
    const m = /^T(\d+\.\d+)$/m.exec(seen);
    if (latency === undefined && m) latency = at - Number(m[1]);
  });
  const { code } = await cli.exited;
  if (code !== 0 || latency === undefined) throw new Error(`steward run ended ${code} without the clock line:\n${cli.tail()}`);
  return { latency, took: now() - started };
}

/** The same measure without the CLI process: a job per run, its output followed here with client.jobOutput. */
async function clientRuns(url: string, token: string, runs: number, script: string): Promise<FirstByteResult['viaClient']> {
  const client = new StewardClient({ baseUrl: url, token });
  const firstByte: number[] = [];
  const agentStamp: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const job = await client.createJob({ target: { nodes: [NODE_NAME] }, type: 'exec.run', payload: { command: process.execPath, args: ['-e', script] }, timeoutMs: 30_000 });
    let seen = false;
    for await (const ev of client.jobOutput(job.id)) {
      if (ev.event !== 'output' || seen) continue;
      const at = now();
      const m = /^T(\d+\.\d+)$/m.exec(ev.chunk.data);
      if (!m) continue;
      seen = true;
      if (i < 2) continue;
      firstByte.push(at - Number(m[1]));
      agentStamp.push(ev.chunk.at - Number(m[1]));
    }
    if (!seen) throw new Error(`job ${job.id} ended without the clock line`);
  }
  return { firstByte: summarize(firstByte), agentStamp: summarize(agentStamp) };
}
