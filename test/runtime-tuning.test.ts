import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVER_NODE_FLAGS } from '../scripts/runtime-tuning.mjs';

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
});
