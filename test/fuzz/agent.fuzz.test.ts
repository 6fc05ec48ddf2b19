import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_CONNECT_PATH, AGENT_ENROLL_PATH, AGENT_PROTOCOL_VERSION, AgentMessage } from '@steward/protocol';
import { addAgent, startServerProcess, type AgentProc, type ServerProc } from '../support/processes.js';
import { anyJson, fromSchema, type JsonSchema } from './schema-arbitrary.js';
import { FUZZ_RUNS, FUZZ_SEED, FUZZ_TIMEOUT_MS } from './runs.js';

/** What a hostile or broken agent can put in a frame: schema-shaped messages, any JSON, junk text, binary. */
const frameArb: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 8, arbitrary: fromSchema(AgentMessage as unknown as JsonSchema).map((m) => JSON.stringify(m)) },
  { weight: 2, arbitrary: anyJson.map((m) => JSON.stringify(m) ?? 'null') },
  { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
);

const inventory = {
  hostname: 'fuzz',
  addresses: ['127.0.0.1'],
  os: { platform: 'linux', release: '6' },
  arch: 'x64',
  agentVersion: '0.0.0',
  cpuCores: 1,
  memoryBytes: 1024,
  disks: [],
  capabilities: [],
  modules: [],
  commandTypes: [],
};

describe('agent-message fuzzing: a hostile node over the real WebSocket link', { timeout: FUZZ_TIMEOUT_MS }, () => {
  let server: ServerProc;
  let agent: AgentProc;

  beforeAll(async () => {
    server = await startServerProcess();
  }, 120_000);

  afterAll(async () => {
    await agent?.kill();
    await server?.kill();
  });

  it(`${FUZZ_RUNS} frames: no crash, no failed handler, other nodes unaffected`, async () => {
    const { token } = await server.client.createEnrollmentToken({ ttlSeconds: 600, uses: 1 });
    const enrolled = await fetch(`${server.url}${AGENT_ENROLL_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, name: 'fuzz-node', inventory }),
    });
    expect(enrolled.status).toBe(201);
    const { credential } = (await enrolled.json()) as { credential: string };

    let socket: WebSocket | null = null;
    let reconnects = 0;
    /** A socket that has said hello; the server may close it on abuse, so it is reopened as needed. */
    const open = async (): Promise<WebSocket> => {
      if (socket?.readyState === WebSocket.OPEN) return socket;
      reconnects++;
      const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}${AGENT_CONNECT_PATH}`, { headers: { authorization: `Bearer ${credential}` } });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.on('error', () => {});
      ws.send(JSON.stringify({ type: 'hello', protocol: AGENT_PROTOCOL_VERSION, inventory, running: [], outbox: [] }));
      socket = ws;
      return ws;
    };

    let sent = 0;
    await fc.assert(
      fc.asyncProperty(frameArb, async (frame) => {
        const ws = await open();
        await new Promise<void>((resolve) => ws.send(frame, () => resolve()));
        // Every 200 frames: the control plane still answers its health check within a second.
        if (++sent % 200 === 0) {
          const res = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(1000) });
          expect(res.status).toBe(200);
        }
        return true;
      }),
      { numRuns: FUZZ_RUNS, ...(FUZZ_SEED !== undefined ? { seed: FUZZ_SEED } : {}), endOnFailure: true },
    );
    // The link still reads the fuzzed node: a last bad frame gets its error answer …
    const last = await open();
    const answered = new Promise<string>((resolve) =>
      last.on('message', (d) => {
        const m = JSON.parse(String(d)) as { type: string; code?: string; message?: string };
        if (m.type === 'error' && m.message?.includes('"nope"') === false && m.code === 'invalid_message') resolve(m.code);
      }),
    );
    last.send(JSON.stringify({ type: 'nope' }));
    expect(await answered).toBe('invalid_message');
    // … and a real agent enrolls, comes online and runs a command.
    agent = await addAgent(server, 'real-node');
    const { command } = await server.client.submitCommand({ node: 'real-node', type: 'exec.run', payload: { command: 'echo', args: ['alive'] } });
    expect((await server.client.getCommand(command.id, { wait: 30 })).state).toBe('succeeded');
    (socket as WebSocket | null)?.close();
    expect(server.child.exitCode).toBeNull();
    // A handler that threw is the agent link's 500: there must be none.
    expect(server.output()).not.toContain('handling an agent message failed');
    expect(server.output()).not.toMatch(/"level":(50|60)/);
    console.log(`agent fuzz: ${sent} frames, ${reconnects} connections`);
  });
});
