import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_CONNECT_PATH, AGENT_ENROLL_PATH, INVENTORY_CAPS, type Inventory } from '@steward/protocol';
import { startServerProcess, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const inventory: Inventory = {
  hostname: 'braggart',
  addresses: [],
  os: { platform: 'linux', release: 'x' },
  arch: 'x64',
  agentVersion: 'test',
  cpuCores: 2,
  memoryBytes: 2 ** 30,
  disks: [],
  capabilities: [],
  modules: ['sys'],
  commandTypes: [{ type: 'sys.ping', module: 'sys', safeToRerun: true }],
};

describe('node restriction over the agent link', { timeout: 60_000 }, () => {
  let server: ServerProc;
  beforeAll(async () => {
    server = await startServerProcess();
  }, 60_000);
  afterAll(async () => server?.kill());

  it('a hello claiming 4096 cores and 1e15 bytes of memory is kept clamped, logged and announced; token labels beat asked ones', async () => {
    const { token } = await server.client.createEnrollmentToken({ labels: { env: 'staging' } });
    const enrolled = await fetch(server.url + AGENT_ENROLL_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, name: 'braggart', labels: { env: 'prod', 'steward.io/tier': 'gold', role: 'db' }, inventory }),
    });
    const { credential, nodeId } = (await enrolled.json()) as { credential: string; nodeId: string };
    expect((await server.client.getNode(nodeId)).labels).toEqual({ env: 'staging', role: 'db' });

    let events = '';
    const stop = new AbortController();
    const sse = await fetch(`${server.url}/api/v1/events`, { headers: { authorization: `Bearer ${server.token}` }, signal: stop.signal });
    void (async () => {
      try {
        for await (const chunk of sse.body as unknown as AsyncIterable<Uint8Array>) events += Buffer.from(chunk).toString('utf8');
      } catch {
        // aborted
      }
    })();

    const ws = new WebSocket(server.url.replace('http', 'ws') + AGENT_CONNECT_PATH, { headers: { authorization: `Bearer ${credential}` } });
    const inbox: { type: string }[] = [];
    ws.on('message', (d) => inbox.push(JSON.parse(String(d))));
    await new Promise<void>((ok, fail) => ws.once('open', () => ok()).once('error', fail));
    ws.send(JSON.stringify({ type: 'hello', protocol: 1, inventory: { ...inventory, cpuCores: 4096, memoryBytes: 1e15 }, running: [], outbox: [] }));
    await waitFor('welcome', () => inbox.some((m) => m.type === 'welcome'), { timeoutMs: 5000 });

    const node = await server.client.getNode(nodeId);
    expect(node.cpuCores).toBe(INVENTORY_CAPS.cpuCores);
    expect(node.memoryBytes).toBe(INVENTORY_CAPS.memoryBytes);
    await waitFor('the inventory_clamped event', () => events.includes('inventory_clamped'), { timeoutMs: 5000 });
    expect(events).toMatch(/"fields":\["cpuCores","memoryBytes"\]/);
    expect(server.output()).toMatch(/inventory figures past their caps were clamped/);
    stop.abort();
    ws.close();
  });
});
