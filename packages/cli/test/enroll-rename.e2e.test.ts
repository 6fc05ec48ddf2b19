import { afterAll, describe, expect, it } from 'vitest';
import { startAgentProcess, startServerProcess, type AgentProc, type ServerProc } from '../../../test/support/processes.js';
import { waitFor } from '../../../test/support/wait.js';

describe('an agent whose name from the hostname is taken', { timeout: 90_000 }, () => {
  let server: ServerProc;
  const agents: AgentProc[] = [];

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await server?.kill();
  });

  it('enrolls under another name and says so in its log', async () => {
    server = await startServerProcess();
    const { token } = await server.client.createEnrollmentToken({ uses: 2 });
    agents.push(startAgentProcess({ server: server.url, token }));
    const first = await waitFor('the first node', async () => (await server.client.listNodes({})).items[0], { timeoutMs: 30_000 });
    agents.push(startAgentProcess({ server: server.url, token }));
    const second = await waitFor('the second node', async () => (await server.client.listNodes({})).items.find((n) => n.id !== first.id), { timeoutMs: 30_000 });
    expect(second.name).toMatch(new RegExp(`^${first.name.slice(0, 54).replace(/\./g, '\\.')}-[0-9a-f]{8}$`));
    const line = await waitFor('the rename log line', () => agents[1]!.output().split('\n').find((l) => l.includes('is taken by another node')), { timeoutMs: 20_000 });
    expect(JSON.parse(line)).toMatchObject({ level: 40, node: second.name, taken: first.name });
    expect(line).toContain(`node name ${first.name} is taken by another node: enrolled as ${second.name}`);
    expect(agents[0]!.output()).not.toContain('is taken');
  });
});
