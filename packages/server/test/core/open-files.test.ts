import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentConnectionCap, openFileLimit } from '../../src/core/open-files.js';
import { tempDir } from '../../../../test/support/processes.js';

const LIMITS = (files: string) => `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            ${files}                ${files}                files
Max locked memory         8388608              8388608              bytes
`;

describe('open-file limit and the agent connection cap', () => {
  it('reads the soft open-file limit from a /proc limits file; unlimited or unreadable is null', () => {
    const dir = tempDir('steward-open-files-');
    writeFileSync(join(dir, 'a'), LIMITS('20000'));
    writeFileSync(join(dir, 'b'), LIMITS('unlimited'));
    expect(openFileLimit(join(dir, 'a'))).toBe(20000);
    expect(openFileLimit(join(dir, 'b'))).toBeNull();
    expect(openFileLimit(join(dir, 'missing'))).toBeNull();
    if (process.platform === 'linux') expect(openFileLimit()).toBeGreaterThan(0);
  });

  it('leaves a quarter of the files, at most 1,024, for everything but agents; a configured cap wins', () => {
    expect(agentConnectionCap(0, 20_000)).toBe(18_976);
    expect(agentConnectionCap(0, 1_048_576)).toBe(1_047_552);
    expect(agentConnectionCap(0, 1024)).toBe(768);
    expect(agentConnectionCap(0, 600)).toBe(450);
    expect(agentConnectionCap(0, 1)).toBe(1);
    expect(agentConnectionCap(0, null)).toBe(Number.POSITIVE_INFINITY);
    expect(agentConnectionCap(5000, 20_000)).toBe(5000);
  });
});
