import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentProcess, startServerProcess, waitOnline, type AgentProc, type ServerProc } from '../../../test/support/processes.js';
import { cleanEnv, runCli, startCli, type Background } from './helpers/cli.js';
import { waitFor } from '../../../test/support/wait.js';

/** Ctrl-C on commands that wait for work running on a node (SIGINT sent to the CLI process). */
describe('waiting for remote work: Ctrl-C, exit codes, waits that run out', { timeout: 90_000 }, () => {
  let server: ServerProc;
  let agent: AgentProc;
  const clis: Background[] = [];
  const env = () => cleanEnv({ STEWARD_SERVER: server.url, STEWARD_TOKEN: server.token });
  const start = (args: string[]) => {
    const b = startCli(args, env());
    clis.push(b);
    return b;
  };
  const exitOf = (b: Background) =>
    new Promise<number | null>((resolve) => {
      if (b.child.exitCode !== null) resolve(b.child.exitCode);
      else b.child.once('exit', (code) => resolve(code));
    });

  beforeAll(async () => {
    server = await startServerProcess();
    const { token } = await server.client.createEnrollmentToken({});
    agent = startAgentProcess({ server: server.url, token, name: 'int-node' });
    await waitOnline(server, 'int-node', agent);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clis.map((c) => c.stop()));
    await agent?.kill();
    await server?.kill();
  });

  /** A `run` of `sleep 30` whose CLI follows the job already (its first output line printed, so its Ctrl-C handler is in place). */
  const followedRun = async () => {
    const cli = start(['run', '--node', 'int-node', '--shell', '--', 'echo started; sleep 30']);
    await waitFor('the first output line at the CLI', () => cli.output().includes('started\n'), { timeoutMs: 30_000 });
    const jobId = await waitFor('the job to run on the node', async () => {
      const { items } = await server.client.listCommands({ state: 'running' });
      return items.find((c) => (c.payload as { command?: string }).command === 'echo started; sleep 30')?.jobId ?? undefined;
    });
    return { cli, jobId };
  };

  it('a first Ctrl-C on run leaves the job running and says how to cancel it', async () => {
    const { cli, jobId } = await followedRun();
    cli.child.kill('SIGINT');
    expect(await exitOf(cli)).toBe(130);
    expect(cli.output()).toContain(`job ${jobId} goes on running. To cancel it: steward jobs cancel ${jobId}`);
    expect(cli.output()).toContain('Ctrl-C again within 3s cancels it now');
    expect((await server.client.getJob(jobId)).state).toBe('running');
    await server.client.cancelJob(jobId);
  });

  it('a second Ctrl-C within 3 s cancels the job and waits for its end', async () => {
    const { cli, jobId } = await followedRun();
    cli.child.kill('SIGINT');
    await waitFor('the first interrupt message', () => cli.output().includes('Ctrl-C again'));
    cli.child.kill('SIGINT');
    expect(await exitOf(cli)).toBe(130);
    expect(cli.output()).toContain(`cancelling job ${jobId}`);
    expect(cli.output()).toMatch(/\[int-node\] cancelled/);
    expect(cli.output()).toMatch(/1 node: 1 cancelled/);
    expect((await server.client.getJob(jobId)).state).not.toBe('running');
  });

  it('tasks submit --wait --cancel-on-interrupt cancels the task on the first Ctrl-C', async () => {
    const cli = start(['tasks', 'submit', '--wait', '--cancel-on-interrupt', '--', 'sleep', '30']);
    const taskId = await waitFor('the task to run', async () => (await server.client.listTasks({ state: 'running' })).items[0]?.id, { timeoutMs: 30_000 });
    // The node may run the task before the CLI has read the submit's answer; its "queued" line is printed just before its Ctrl-C handler goes in.
    await waitFor('the CLI to print the queued task', () => cli.output().includes(`${taskId} queued`), { timeoutMs: 30_000 });
    cli.child.kill('SIGINT');
    expect(await exitOf(cli)).toBe(130);
    expect(cli.output()).toContain(`cancelling task ${taskId}`);
    expect(cli.output()).toContain(`${taskId}: cancelled`);
    expect((await server.client.getTask(taskId)).state).toBe('cancelled');
  });

  it('a first Ctrl-C on tasks submit --wait names the task and leaves it running', async () => {
    const cli = start(['tasks', 'submit', '--wait', '--', 'sleep', '30']);
    const taskId = await waitFor('the task to run', async () => (await server.client.listTasks({ state: 'running' })).items[0]?.id, { timeoutMs: 30_000 });
    // The node may run the task before the CLI has read the submit's answer; its "queued" line is printed just before its Ctrl-C handler goes in.
    await waitFor('the CLI to print the queued task', () => cli.output().includes(`${taskId} queued`), { timeoutMs: 30_000 });
    cli.child.kill('SIGINT');
    expect(await exitOf(cli)).toBe(130);
    expect(cli.output()).toContain(`task ${taskId} goes on running. To cancel it: steward tasks cancel ${taskId}`);
    expect((await server.client.getTask(taskId)).state).toBe('running');
    await server.client.cancelTask(taskId);
  });

  it('commands submit --wait that runs out exits 1 and says the command still runs', async () => {
    const r = await runCli(['commands', 'submit', '--node', 'int-node', '--type', 'exec.run', '--payload', '{"command":"sleep","args":["20"]}', '--wait', '1s'], { env: env() });
    expect(r.code).toBe(1);
    const id = /^id:\s+(cmd_\S+)/m.exec(r.stdout)?.[1];
    expect(id).toBeDefined();
    // Under load the node may not have started it within the second; either way it is not over.
    expect(r.stderr).toMatch(new RegExp(`${id} is still (pending|dispatched|running) after waiting 1s; it goes on running`));
    expect(['pending', 'dispatched', 'running']).toContain((await server.client.getCommand(id!)).state);
    await server.client.cancelCommand(id!);
  });

  it('run on one node exits with that node exit code; on a timeout with 1', async () => {
    const r = await runCli(['run', '--node', 'int-node', '--', 'sh', '-c', 'exit 7'], { env: env() });
    expect(r.stdout).toMatch(/\[int-node\] failed exit=7/);
    expect(r.code).toBe(7);
    const t = await runCli(['run', '--node', 'int-node', '--timeout', '1s', '--', 'sleep', '5'], { env: env() });
    expect(t.stdout).toMatch(/\[int-node\] timed_out/);
    expect(t.code).toBe(1);
  });
});
