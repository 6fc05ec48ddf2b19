import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installLayout } from '../../src/modules/agent/layout.js';
import { verifyUnpacked } from '../../src/modules/agent/package-check.js';
import { claimDecision, readDecision, switchCurrent, upgradeFiles } from '../../src/modules/agent/state.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const temp = () => mkdtempSync(join(tmpdir(), 'steward-upgrade-unit-'));

/** An unpacked package as scripts/package.mjs lays it out: files, manifest.json, SHA256SUMS. */
function unpacked(version: string, files: Record<string, string>): string {
  const dir = temp();
  const hashes: Record<string, string> = {};
  for (const [f, body] of Object.entries(files)) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), body);
    hashes[f] = sha(body);
  }
  const manifest = JSON.stringify({ version, files: hashes });
  writeFileSync(join(dir, 'manifest.json'), manifest);
  const sums = { ...hashes, 'manifest.json': sha(manifest) };
  writeFileSync(join(dir, 'SHA256SUMS'), Object.keys(sums).sort().map((f) => `${sums[f as keyof typeof sums]}  ${f}\n`).join(''));
  return dir;
}

describe('agent.upgrade building blocks', () => {
  it('accepts a package whose files match SHA256SUMS and the manifest', async () => {
    await expect(verifyUnpacked(unpacked('1.2.0', { 'bin/node': 'node', 'steward-agent.mjs': 'agent' }), '1.2.0')).resolves.toBeUndefined();
  });

  it('refuses a changed file, an unlisted file, and a manifest of another version, naming why', async () => {
    const changed = unpacked('1.2.0', { 'steward-agent.mjs': 'agent' });
    writeFileSync(join(changed, 'steward-agent.mjs'), 'evil');
    await expect(verifyUnpacked(changed, '1.2.0')).rejects.toMatchObject({ code: 'package_invalid', message: /steward-agent\.mjs does not match its SHA-256/ });
    const extra = unpacked('1.2.0', { 'steward-agent.mjs': 'agent' });
    writeFileSync(join(extra, 'extra.js'), 'x');
    await expect(verifyUnpacked(extra, '1.2.0')).rejects.toMatchObject({ code: 'package_invalid', message: /does not list \(extra\.js\)/ });
    await expect(verifyUnpacked(unpacked('1.1.0', { a: 'a' }), '1.2.0')).rejects.toMatchObject({ code: 'package_invalid', message: /names version 1\.1\.0, not 1\.2\.0/ });
  });

  it('finds the install layout of a packaged agent, and refuses anything else with upgrade_unsupported', () => {
    const root = temp();
    mkdirSync(join(root, '1.2.0', 'bin'), { recursive: true });
    writeFileSync(join(root, '1.2.0', 'manifest.json'), '{}');
    symlinkSync('1.2.0', join(root, 'current'));
    expect(installLayout('1.2.0', join(root, '1.2.0', 'bin', '..', 'steward-agent.mjs'))).toEqual({ root, running: join(root, '1.2.0'), current: join(root, 'current') });
    expect(() => installLayout('1.3.0', join(root, '1.2.0', 'steward-agent.mjs'))).toThrow(expect.objectContaining({ code: 'upgrade_unsupported' }));
    expect(() => installLayout('1.2.0', '/work/repo/dist/steward-agent.mjs')).toThrow(expect.objectContaining({ code: 'upgrade_unsupported' }));
  });

  it('switches current in one rename and records one decision: the first claim wins', () => {
    const root = temp();
    symlinkSync('1.2.0', join(root, 'current'));
    switchCurrent(root, '1.3.0');
    expect(readlinkSync(join(root, 'current'))).toBe('1.3.0');
    const files = upgradeFiles(temp());
    mkdirSync(files.dir);
    expect(claimDecision(files, { outcome: 'upgraded', by: 'agent', at: 1 })).toMatchObject({ outcome: 'upgraded' });
    expect(claimDecision(files, { outcome: 'rolled_back', reason: 'late', by: 'watcher', at: 2 })).toMatchObject({ outcome: 'upgraded', by: 'agent' });
    expect(readDecision(files)).toMatchObject({ outcome: 'upgraded' });
  });
});
