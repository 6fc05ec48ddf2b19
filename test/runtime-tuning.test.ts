import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_ENV, AGENT_NODE_FLAGS, SERVER_NODE_FLAGS } from '../scripts/runtime-tuning.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'packages/cli/bin/steward.js');

describe('runtime tuning (scripts/runtime-tuning.mjs)', () => {
  it('bin/steward.js starts node with the control plane flags the benchmarks assume', () => {
    const shebang = readFileSync(BIN, 'utf8').split('\n')[0]!;
    expect(shebang).toBe(`#!/usr/bin/env -S node ${SERVER_NODE_FLAGS.join(' ')}`);
  });

  it('a script with that first line really runs node with those flags', () => {
    // `env -S` splits the line (coreutils ≥ 8.30, BSD, macOS); node then reports its flags.
    const dir = mkdtempSync(join(tmpdir(), 'steward-shebang-'));
    try {
      const script = join(dir, 'flags.js');
      writeFileSync(script, `${readFileSync(BIN, 'utf8').split('\n')[0]}\nconsole.log(process.execArgv.join(' '));\n`, { mode: 0o755 });
      expect(execFileSync(script, { encoding: 'utf8' }).trim()).toBe(SERVER_NODE_FLAGS.join(' '));
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
