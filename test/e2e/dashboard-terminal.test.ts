import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, type TestBrowser } from '../support/browser.js';
import { addAgent, startServerProcess, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/** The node page's terminal in a real browser against a real agent's PTY, then its replay. */
describe('dashboard terminal', { timeout: 120_000 }, () => {
  let server: ServerProc;
  let agent: AgentProc;
  let b: TestBrowser;

  beforeAll(async () => {
    server = await startServerProcess();
    agent = await addAgent(server, 'term-node');
    b = await openBrowser();
    await b.page.goto(`${server.url}/#token=${encodeURIComponent(server.token)}`);
    await b.page.locator('[data-testid=stream-state][data-state=live]').waitFor();
  }, 90_000);

  afterAll(async () => {
    await b?.close();
    await agent?.kill();
    await server?.kill();
  });

  it('types a command and sees its output, shows the exit code, and the recording replays', async () => {
    const { page } = b;
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(String(e)));
    await page.goto(`${server.url}/nodes/term-node`);
    await page.click('button:has-text("Open terminal")');
    const session = page.locator('[data-testid=terminal-session]').first();
    await session.locator('xpath=self::*[@data-phase="running"]').waitFor({ timeout: 30_000 });
    const screen = session.locator('.xterm-rows');
    // The shell's prompt (or anything) first: typed keys go to a session that reads them.
    await page.locator('.xterm-helper-textarea').first().focus();
    await page.keyboard.type('echo hi-$((6*7))');
    await page.keyboard.press('Enter');
    await waitFor('hi-42 on the terminal', async () => /(^|\n)hi-42/.test((await screen.innerText()).replace(/\u00a0/g, ' ')), { timeoutMs: 20_000 });
    // The terminal follows the window: a narrower page gives the remote side fewer columns.
    const sizes = async () => [...(await screen.innerText()).replace(/\u00a0/g, ' ').matchAll(/^(\d+) (\d+)\s*$/gm)].map((m) => Number(m[2]));
    await page.keyboard.type('stty size');
    await page.keyboard.press('Enter');
    const [wide] = await waitFor('the first stty size', async () => (await sizes()).length === 1 && sizes());
    await page.setViewportSize({ width: 900, height: 900 });
    // Asked again until the answer shows the new size (the resize is debounced and sent on its own).
    await waitFor(
      'a narrower size after the window shrank',
      async () => {
        if ((await sizes()).at(-1)! < wide!) return true;
        await page.keyboard.type('stty size');
        await page.keyboard.press('Enter');
        return false;
      },
      { intervalMs: 500 },
    );
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.keyboard.type('exit 5');
    await page.keyboard.press('Enter');
    await session.locator('xpath=self::*[@data-phase="ended"]').waitFor({ timeout: 20_000 });
    expect(await session.getAttribute('data-exit-code')).toBe('5');
    expect(await session.locator('[data-testid=terminal-status]').innerText()).toContain('exit code 5');
    const id = (await session.locator('.terminal-head a').first().innerText()).trim();
    await b.shot('dashboard-terminal');

    // A new terminal may be opened after one ended.
    await page.click('button:has-text("Open terminal")');
    await page.locator('[data-testid=terminal-session]').nth(1).locator('xpath=self::*[@data-phase="running"]').waitFor({ timeout: 30_000 });

    await page.click('a:has-text("Recorded sessions of this node")');
    const row = page.locator(`[data-row-key="${id}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await row.locator('[data-col=exit]').innerText()).toBe('5');
    await row.locator('button:has-text("Replay")').click();
    const player = page.locator('[data-testid=session-replay] .ap-player');
    await player.waitFor({ timeout: 20_000 });
    await waitFor('the replay to show hi-42', async () => (await player.innerText()).includes('hi-42'), { timeoutMs: 20_000 });
    await b.shot('dashboard-session-replay');

    // With an approval policy on shells, a new terminal says it waits for approval; ending it cancels the session.
    await server.client.putApprovalPolicy('shells', { commandTypes: ['shell.session'] });
    await page.goto(`${server.url}/nodes/term-node`);
    await page.click('button:has-text("Open terminal")');
    const held = page.locator('[data-testid=terminal-session]').first();
    await held.locator('xpath=self::*[@data-phase="awaiting_approval"]').waitFor({ timeout: 20_000 });
    expect(await held.locator('[data-testid=terminal-status]').innerText()).toContain('awaiting approval');
    const heldId = (await held.locator('.terminal-head a').first().innerText()).trim();
    expect((await server.client.getCommand(heldId)).state).toBe('awaiting_approval');
    await held.locator('button:has-text("End session")').click();
    await held.locator('xpath=self::*[@data-phase="ended"]').waitFor({ timeout: 20_000 });
    expect((await server.client.getCommand(heldId)).state).toBe('cancelled');
    // No CSP violation or script error on the way (the player compiles WebAssembly).
    expect(logs.filter((l) => /Content Security Policy|Error/i.test(l))).toEqual([]);
  });

  it('offers a reader token no terminal (the API would refuse it)', async () => {
    const { page } = b;
    const reader = await server.client.createToken({ name: 'dash-reader', role: 'reader' });
    const self = page.waitForResponse((r) => r.url().endsWith('/api/v1/tokens/self') && r.status() === 200);
    await page.goto(`${server.url}/#token=${encodeURIComponent(reader.token)}`);
    await page.locator('[data-testid=stream-state][data-state=live]').waitFor();
    await page.goto(`${server.url}/nodes/term-node`);
    await self;
    await page.locator('h2:has-text("Run a command")').waitFor();
    // The role is known (its answer came) and the page has rendered past where the terminal would be.
    await page.locator('h2:has-text("Files")').waitFor();
    expect(await page.locator('h2:has-text("Terminal")').count()).toBe(0);
    expect(await page.locator('button:has-text("Open terminal")').count()).toBe(0);
    await page.click('nav >> text=Sessions');
    await page.locator('text=Recordings need an operator token').waitFor();
  });
});
