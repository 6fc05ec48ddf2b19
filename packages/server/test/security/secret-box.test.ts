import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecretBox, SecretBoxError } from '../../src/security/secret-box.js';

describe('SecretBox (service env values at rest)', () => {
  it('seals deterministically, opens what it sealed, keeps its key in a 0600 file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-box-'));
    const box = SecretBox.open(dir);
    const sealed = box.seal('hunter2');
    expect(sealed).toMatch(/^sbx1:/);
    expect(sealed).not.toContain('hunter2');
    expect(box.seal('hunter2')).toBe(sealed); // an unchanged spec stays unchanged
    expect(box.seal('hunter3')).not.toBe(sealed);
    expect(box.unseal(sealed)).toBe('hunter2');
    expect(SecretBox.open(dir).unseal(sealed)).toBe('hunter2'); // the same file, the same key
    expect(box.unseal('plain, from before sealing')).toBe('plain, from before sealing');
    expect(statSync(join(dir, 'secrets.key')).mode & 0o777).toBe(0o600);
  });

  it('another data dir (another key) cannot open it, and says which file to copy; a tampered value is refused', () => {
    const sealed = SecretBox.open(mkdtempSync(join(tmpdir(), 'steward-box-'))).seal('hunter2');
    const other = SecretBox.open(mkdtempSync(join(tmpdir(), 'steward-box-')));
    expect(() => other.unseal(sealed)).toThrow(SecretBoxError);
    expect(() => other.unseal(sealed)).toThrow(/copy secrets.key/);
    const box = SecretBox.open(mkdtempSync(join(tmpdir(), 'steward-box-')));
    const good = box.seal('hunter2');
    // A character in the middle: every bit of it is data (the last one before `=` carries padding
    // bits, so changing it between A and B could leave the bytes as they were).
    const at = Math.floor(good.length / 2);
    const flipped = good.slice(0, at) + (good[at] === 'A' ? 'B' : 'A') + good.slice(at + 1);
    expect(() => box.unseal(flipped)).toThrow(SecretBoxError);
  });
});
