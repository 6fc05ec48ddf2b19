import { describe, expect, it } from 'vitest';
import { childReport, limitsOf, serviceNameOf, tagsOf } from '../../src/agents/transports/bootagent/jobs.js';
import { UrlSigner } from '../../src/agents/transports/bootagent/signed-urls.js';

const SHA = 'a'.repeat(64);

describe('BootAgent job translation', () => {
  it("maps the seed's child states onto service states, and anything else to failed with the reason", () => {
    const at = { revision: 3, outcome: null, deviceTime: 1_000_000 };
    expect(childReport('basic', { name: 'Basic', status: 'stoped', version: '1' }, at)).toMatchObject({ state: 'stopped', version: '1', revision: 3, startedAt: null, reason: null });
    expect(childReport('basic', { name: 'Basic', status: 'running', uptime: 10 }, at)).toMatchObject({ state: 'running', startedAt: 990_000, version: null });
    expect(childReport('basic', { name: 'Basic', status: 'fatal' }, at).state).toBe('fatal');
    expect(childReport('basic', { name: 'Basic', status: 'killed' }, at).state).toBe('killed');
    expect(childReport('basic', { name: 'Basic', status: 'zombie' }, at)).toMatchObject({ state: 'failed', reason: 'the BootAgent reports status "zombie"' });
  });

  it('writes limits in the seed words and names children as services', () => {
    expect(limitsOf({ cpuPercent: 10, memoryMB: 20, pids: 5 })).toEqual({ CPU: '10%', memory: '20M' });
    expect(limitsOf({ pids: 5 })).toBeUndefined();
    expect(limitsOf(undefined)).toBeUndefined();
    expect(serviceNameOf('BasicAgent')).toBe('basicagent');
    expect(serviceNameOf('../etc')).toBeNull();
    expect(tagsOf({ svc: 'ecs', cmpt: 'DB' })).toBe('svc=ecs,cmpt=DB');
  });
});

describe('signed artifact URLs', () => {
  it('open one artifact for one node until they expire', () => {
    const signer = new UrlSigner(1000);
    const q = Object.fromEntries(new URLSearchParams(signer.sign('node_1', SHA, 5000)));
    expect(signer.verify(SHA, q, 5999)).toEqual({ grant: { nodeId: 'node_1', sha256: SHA, expires: 6000 } });
    expect(signer.verify(SHA, q, 6000)).toMatchObject({ refused: expect.stringMatching(/expired/) });
    expect(signer.verify('b'.repeat(64), q, 5500)).toMatchObject({ refused: expect.stringMatching(/does not match/) });
    expect(signer.verify(SHA, { ...q, node: 'node_2' }, 5500)).toMatchObject({ refused: expect.stringMatching(/does not match/) });
    expect(signer.verify(SHA, { ...q, sig: 'zz' }, 5500)).toMatchObject({ refused: expect.stringMatching(/does not match/) });
    expect(signer.verify(SHA, {}, 5500)).toMatchObject({ refused: expect.stringMatching(/no signature/) });
    // Another process (a restart) has another key.
    expect(new UrlSigner(1000).verify(SHA, q, 5500)).toMatchObject({ refused: expect.stringMatching(/does not match/) });
  });
});
