import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as tar from 'tar';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELLO_EXAMPLE, pluginSource, writePlugin } from '../../packages/agent/test/plugins/fixtures.js';
import { addAgent, heartbeatsAfter, startServerProcess, tempDir, type AgentProc, type ServerProc } from '../support/processes.js';
import { openBrowser } from '../support/browser.js';
import { waitFor } from '../support/wait.js';

/**
 * Plugins with a real agent and control plane: a folder dropped into the agent's plugins dir
 * becomes runnable without a restart (same process), changes and removals follow, and broken
 * plugins leave the agent up.
 */
describe('agent plugins', { timeout: 120_000 }, () => {
  let server: ServerProc;
  let agent: AgentProc;
  let pid: number;
  let plugins: string;
  const NODE = 'plugged';

  beforeAll(async () => {
    server = await startServerProcess();
    agent = await addAgent(server, NODE);
    pid = agent.child.pid!;
    plugins = join(agent.dataDir, 'plugins');
  });
  afterAll(async () => {
    await agent?.kill('SIGKILL');
    await server?.kill('SIGKILL');
  });

  const types = async () => (await server.client.getNode(NODE)).commandTypes.map((t) => t.type);
  const offered = (type: string) => waitFor(`${NODE} to offer ${type}`, async () => (await types()).includes(type), { timeoutMs: 20_000 });
  const run = async (type: string, payload: unknown = {}) => {
    const { command } = await server.client.submitCommand({ node: NODE, type, payload: payload as Record<string, unknown> });
    return server.client.getCommand(command.id, { wait: 20 });
  };
  /** The agent answers a built-in command, and is the same process that started. */
  const stillUp = async () => {
    expect((await run('sys.ping')).state).toBe('succeeded');
    expect(agent.child.exitCode).toBeNull();
    expect(agent.child.pid).toBe(pid);
  };

  it('a plugin dropped into the folder becomes runnable without a restart', async () => {
    expect(await types()).not.toContain('hello.greet');
    cpSync(HELLO_EXAMPLE, join(plugins, 'hello'), { recursive: true });
    await offered('hello.greet');
    const done = await run('hello.greet', { name: 'ada' });
    expect(done).toMatchObject({ state: 'succeeded', result: { greeting: 'hello, ada', node: NODE } });
    // Its payload schema is checked at submission, like a built-in's.
    await expect(server.client.submitCommand({ node: NODE, type: 'hello.greet', payload: { nom: 'x' } })).rejects.toMatchObject({ status: 400 });
    await stillUp();
  });

  it('a changed plugin runs its new code; a removed one is refused as unknown', async () => {
    writePlugin(plugins, 'swap', pluginSource('swap', 'first'));
    await offered('swap.answer');
    expect((await run('swap.answer')).result).toEqual({ answer: 'first' });
    writePlugin(plugins, 'swap', pluginSource('swap', 'second'), { version: '2.0.0' });
    await waitFor('the new code to answer', async () => JSON.stringify((await run('swap.answer')).result) === '{"answer":"second"}');
    rmSync(join(plugins, 'swap'), { recursive: true });
    await waitFor('swap.answer to leave the catalog', async () => !(await types()).includes('swap.answer'));
    await expect(server.client.submitCommand({ node: NODE, type: 'swap.answer', payload: {} })).rejects.toMatchObject({ code: 'unknown_command_type' });
    await stillUp();
  });

  it('a half-copied plugin is not loaded until its files match plugin.json', async () => {
    const whole = pluginSource('half', 'complete');
    writePlugin(plugins, 'half', whole.slice(0, 50), { manifestOf: whole });
    await waitFor('the agent to see the incomplete copy', () => agent.output().includes('plugin half is not complete yet'));
    await heartbeatsAfter(server, NODE);
    expect(await types()).not.toContain('half.answer');
    writeFileSync(join(plugins, 'half', 'index.mjs'), whole);
    await offered('half.answer');
    expect((await run('half.answer')).result).toEqual({ answer: 'complete' });
  });

  it('a plugin throwing at load, and one throwing in its handlers and timers, leave the agent up', async () => {
    const events = await server.client.openEvents({ kinds: ['node.plugin'] });
    writePlugin(plugins, 'broken', "throw new Error('broken at import');\n");
    await waitFor('the refusal', () => agent.output().includes('loading it threw: broken at import'));
    expect(agent.output()).toContain('plugin_invalid');
    // The operator sees it on the control plane too (logged, and a node.plugin event).
    await waitFor('the control plane to log the refusal', () => server.output().includes('agent refused a plugin: plugin \\"broken\\": loading it threw: broken at import'));
    for await (const { event } of events) {
      if (event.kind === 'node.plugin' && event.plugin === 'broken') {
        expect(event).toMatchObject({ change: 'invalid', reason: 'plugin "broken": loading it threw: broken at import' });
        break;
      }
    }
    events.close();
    writePlugin(
      plugins,
      'faulty',
      `export default ({ Type }) => ({ name: 'faulty', description: 'fails', commands: [
        { type: 'faulty.sync', description: 'throws', payload: Type.Object({}), safeToRerun: true, handler() { throw new Error('sync failure'); } },
        { type: 'faulty.async', description: 'rejects, and leaves a rejection and a timer throw behind', payload: Type.Object({}), safeToRerun: true,
          async handler() {
            Promise.reject(new Error('nobody listens'));
            setTimeout(() => { throw new Error('thrown from a plugin timer'); }, 10);
            throw new Error('async failure');
          } },
      ] });\n`,
    );
    await offered('faulty.sync');
    expect(await run('faulty.sync')).toMatchObject({ state: 'failed', error: { code: 'handler_error', message: 'sync failure' } });
    expect(await run('faulty.async')).toMatchObject({ state: 'failed', error: { code: 'handler_error', message: 'async failure' } });
    await waitFor('the timer throw to be logged', () => agent.output().includes('plugin code threw outside a command'));
    expect(agent.output()).toContain('a promise was rejected and nobody handled it; the agent keeps running');
    await heartbeatsAfter(server, NODE);
    await stillUp();
  });

  /** The node's config view once its agent answered the current revision. */
  const answered = () =>
    waitFor(`${NODE} to answer its current config`, async () => {
      const view = await server.client.nodeConfig(NODE);
      return view.applied?.revision === view.revision && view.applied;
    }, { timeoutMs: 30_000 });
  /** What the plugins dir holds besides plugin folders (the installer's staging must be gone or empty). */
  const leftovers = () => (existsSync(join(plugins, '.staging')) ? readdirSync(join(plugins, '.staging')) : []);

  it('a plugin from the artifact store: a wrong sha256 is refused and installs nothing; the right one loads; dropping it removes only it', async () => {
    const src = tempDir('steward-plugin-src-');
    writePlugin(src, 'greeter', pluginSource('greeter', 'from the store'));
    const archive = join(tempDir('steward-plugin-tgz-'), 'greeter.tar.gz');
    await tar.c({ gzip: true, file: archive, cwd: join(src, 'greeter') }, ['index.mjs', 'plugin.json']);
    const { artifact } = await server.client.putArtifactFile(archive);
    const target = { nodes: [NODE] };

    // Not in the store: the config is rejected with the field named, nothing appears.
    const wrong = 'f'.repeat(64);
    await server.client.putAgentConfig('plugins', { target, priority: 10, config: { plugins: [{ name: 'greeter', sha256: wrong }] } });
    const refused = await answered();
    expect(refused).toMatchObject({ state: 'rejected' });
    expect(refused.reason).toContain(`plugins[0]: artifact ${wrong} of plugin greeter`);
    expect(existsSync(join(plugins, 'greeter'))).toBe(false);
    expect(leftovers()).toEqual([]);

    // A hand-installed plugin of that name is not replaced by a pushed one.
    await server.client.putAgentConfig('plugins', { target, priority: 10, config: { plugins: [{ name: 'hello', sha256: artifact.sha256 }] } });
    expect((await answered()).reason).toContain('a plugin hello was installed by hand');
    expect((await run('hello.greet', { name: 'still me' })).result).toMatchObject({ greeting: 'hello, still me' });

    await server.client.putAgentConfig('plugins', { target, priority: 10, config: { plugins: [{ name: 'greeter', sha256: artifact.sha256 }] } });
    expect(await answered()).not.toHaveProperty('reason');
    expect((await server.client.nodeConfig(NODE)).applied).toMatchObject({ state: 'applied' });
    await offered('greeter.answer');
    expect((await run('greeter.answer')).result).toEqual({ answer: 'from the store' });
    expect(readFileSync(join(plugins, 'greeter', '.steward-artifact'), 'utf8').trim()).toBe(artifact.sha256);

    // Dropped from the pushed config: the installed one goes, the hand-installed one stays.
    await server.client.putAgentConfig('plugins', { target, priority: 10, config: { plugins: [] } });
    expect(await answered()).toMatchObject({ state: 'applied' });
    await waitFor('greeter.answer to leave the catalog', async () => !(await types()).includes('greeter.answer'));
    expect(existsSync(join(plugins, 'greeter'))).toBe(false);
    expect(await types()).toContain('hello.greet');
    expect(leftovers()).toEqual([]);
    await stillUp();
  });

  it("the dashboard's run box offers the node's plugin types as they come, and runs them", async () => {
    const b = await openBrowser();
    try {
      await b.page.goto(server.url);
      await b.page.fill('#token', server.token);
      await b.page.click('button[type=submit]');
      await b.page.getByTestId('nodes-online').waitFor();
      const { id } = await server.client.getNode(NODE);
      await b.page.goto(`${server.url}/nodes/${id}`);
      const select = b.page.getByLabel('command type');
      await select.locator('option[value="hello.greet"]').waitFor({ state: 'attached' });
      // A plugin loaded while the page is open joins the list (node.plugin event).
      writePlugin(plugins, 'late', pluginSource('late', 'seen live'));
      await select.locator('option[value="late.answer"]').waitFor({ state: 'attached', timeout: 20_000 });
      await select.selectOption('hello.greet');
      await b.page.getByLabel('payload').fill('{"name": "web"}');
      await b.page.click('button:has-text("Run")');
      const run = b.page.getByTestId('run').first();
      await run.locator('[data-status=succeeded]').waitFor();
      await run.getByTestId('command-result').waitFor();
      expect(await run.getByTestId('command-result').textContent()).toContain('"greeting": "hello, web"');
      await b.shot('plugins-run-box');
    } finally {
      await b.close();
    }
  });
});
