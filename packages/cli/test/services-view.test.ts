import { describe, expect, it } from 'vitest';
import type { Service, ServiceNodeStatus } from '@steward/protocol';
import { whyText } from '../src/commands/services.js';
import { nodeRollout, rolloutDone } from '../src/rollout.js';

describe('services show: WHY', () => {
  const outcome = { kind: 'rolled_back', version: '1.1', reason: 'health check failed', at: 1 } as const;

  it('says a rollback once when the reason already says it', () => {
    expect(whyText({ reason: 'rolled back from 1.1: health check failed', lastOutcome: outcome })).toBe('rolled back from 1.1: health check failed');
  });

  it('adds the rollback when the reason is about something else, and says nothing when there is nothing', () => {
    expect(whyText({ reason: 'restarting after a crash', lastOutcome: outcome })).toBe('restarting after a crash; rolled back from 1.1: health check failed');
    expect(whyText({ reason: null, lastOutcome: null })).toBe('');
  });
});

describe('services apply --wait: where a node is in the rollout', () => {
  const service = (nodes: object[]) => ({ name: 'api', revision: 2, targeted: 2, spec: { version: '1.1' }, nodes }) as unknown as Service;
  const node = (over: object) => ({ nodeId: 'node_1', nodeName: 'web-1', revision: 2, version: '1.1', state: 'running', reason: null, lastOutcome: null, ...over }) as unknown as ServiceNodeStatus;

  it('is done when the node runs the new version, or has failed it (saying what failed)', () => {
    const s = service([]);
    expect(nodeRollout(s, node({}))).toEqual({ done: true, failed: false, text: 'running 1.1' });
    const rolledBack = node({ version: '1.0', reason: 'rolled back from 1.1: health check failed', lastOutcome: { kind: 'rolled_back', version: '1.1', reason: 'health check failed', at: 1 } });
    expect(nodeRollout(s, rolledBack)).toEqual({ done: true, failed: true, text: 'rolled back from 1.1: health check failed (1.0 running)' });
    const installFailed = node({ version: null, state: 'failed', reason: 'sha256 mismatch', lastOutcome: { kind: 'install_failed', version: '1.1', reason: 'sha256 mismatch', at: 1 } });
    expect(nodeRollout(s, installFailed)).toMatchObject({ done: true, failed: true, text: 'install of 1.1 failed: sha256 mismatch' });
  });

  it('is not done while the node has an older revision or is still installing', () => {
    const s = service([]);
    expect(nodeRollout(s, node({ revision: 1, version: '1.0' }))).toMatchObject({ done: false, text: 'waiting (has revision 1, running)' });
    expect(nodeRollout(s, node({ state: 'installing', version: '1.0', reason: 'installing 1.1 beside 1.0' }))).toMatchObject({ done: false, text: 'installing 1.0 (installing 1.1 beside 1.0)' });
    expect(rolloutDone(service([node({})]))).toBe(false);
    expect(rolloutDone(service([node({}), node({ nodeId: 'node_2', nodeName: 'web-2' })]))).toBe(true);
  });
});
