import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_ENV, AGENT_NODE_FLAGS, LONG_RUNNING_COMMANDS, SERVER_NODE_FLAGS } from '../scripts/runtime-tuning.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'packages/cli/bin/steward.js');

describe('runtime tuning (scripts/runtime-tuning.mjs)', () => {
  /** bin/steward.js's sh lines (the shebang and the `":" //;` lines) in front of a script that prints how node was started. */
  function withLauncher(dir: string): string {
    const lines = readFileSync(BIN, 'utf8').split('\n');
    const launcher = lines.slice(0, lines.findIndex((l, i) => i > 0 && !l.startsWith('":" //;')));
    const script = join(dir, 'flags.js');
    writeFileSync(script, `${launcher.join('\n')}\nconsole.log(JSON.stringify({ flags: process.execArgv, args: process.argv.slice(2) }));\n`, { mode: 0o755 });
    return script;
  }

  it('bin/steward.js runs the long-running commands with the control plane flags and the others with none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-launcher-'));
    try {
      const script = withLauncher(dir);
      const started = (...args: string[]) => JSON.parse(execFileSync(script, args, { encoding: 'utf8' })) as { flags: string[]; args: string[] };
      for (const cmd of LONG_RUNNING_COMMANDS) {
        expect(started(cmd, '--log-level', 'info')).toEqual({ flags: SERVER_NODE_FLAGS, args: [cmd, '--log-level', 'info'] });
        // Program options (and their values) may come before the command.
        expect(started('--server', 'http://127.0.0.1:7070', '--token', 'server', cmd).flags).toEqual(SERVER_NODE_FLAGS);
      }
      // Arguments pass through untouched, spaces and all.
      expect(started('nodes', 'ls', 'a b', '')).toEqual({ flags: [], args: ['nodes', 'ls', 'a b', ''] });
      expect(started('--token', 'up', 'nodes', 'ls').flags).toEqual([]);
      expect(started('run', '--all', '--', 'steward', 'server').flags).toEqual([]);
      expect(started('--version').flags).toEqual([]);
      expect(started().flags).toEqual([]);
      // Run by node itself (`node bin/steward.js …`, a systemd ExecStart=), those lines do nothing.
      const direct = JSON.parse(execFileSync(process.execPath, [script, 'server'], { encoding: 'utf8' })) as { flags: string[] };
      expect(direct.flags).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the agent flags start node silently and keep WebAssembly (node\'s fetch, in a plugin, needs it)', () => {
    // --jitless would save a little more memory but turns WebAssembly off (node warns about
    // --expose-wasm); a misspelled flag makes node refuse to start.
    const r = spawnSync(process.execPath, [...AGENT_NODE_FLAGS, '-e', 'console.log(typeof WebAssembly.compile, process.execArgv.slice(0, -2).join(" "))'], {
      encoding: 'utf8',
      env: { ...process.env, ...AGENT_ENV },
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(`function ${AGENT_NODE_FLAGS.join(' ')}`);
  });
});
