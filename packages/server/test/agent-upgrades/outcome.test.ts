import { describe, expect, it } from 'vitest';
import { nodeOutcome, packageFileName } from '../../src/agent-upgrades/service.js';

const json = (v: unknown) => JSON.stringify(v);

describe('what an ended agent.upgrade command means for its node', () => {
  it('succeeded with outcome upgraded: upgraded', () => {
    expect(nodeOutcome('succeeded', json({ outcome: 'upgraded', from: '1', to: '2', version: '2' }), null)).toEqual({ state: 'upgraded', reason: null });
  });

  it('failed with rolled_back: rolled_back, with the agent\'s reason', () => {
    expect(nodeOutcome('failed', json({ outcome: 'rolled_back' }), json({ code: 'rolled_back', message: 'the new agent 2 keeps exiting at start' }))).toEqual({
      state: 'rolled_back',
      reason: 'the new agent 2 keeps exiting at start',
    });
  });

  it('any other end: failed, naming the code or the state', () => {
    expect(nodeOutcome('failed', null, json({ code: 'upgrade_unsupported', message: 'not installed' }))).toEqual({ state: 'failed', reason: 'upgrade_unsupported: not installed' });
    expect(nodeOutcome('expired', null, null)).toEqual({ state: 'failed', reason: 'the upgrade command ended expired' });
    // A success that is not an upgrade (a result of another shape) is not counted as one.
    expect(nodeOutcome('succeeded', json({}), null).state).toBe('failed');
  });

  it('packages are named as scripts/package.mjs names them', () => {
    expect(packageFileName('1.2.0', 'arm64')).toBe('steward-agent-1.2.0-linux-arm64.tar.gz');
  });
});
