import { describe, expect, it } from 'vitest';
import { actionName, summaryOf } from '../../src/http/audit-hook.js';
import { compilePolicies, policyFor, typeMatches } from '../../src/commands/approval-policies.js';

describe('audit action names', () => {
  it('are derived from method and route pattern', () => {
    expect(actionName('POST', '/api/v1/jobs')).toBe('jobs.create');
    expect(actionName('POST', '/api/v1/commands/:id/cancel')).toBe('commands.cancel');
    expect(actionName('POST', '/api/v1/jobs/:id/approve')).toBe('jobs.approve');
    expect(actionName('DELETE', '/api/v1/tokens/:id')).toBe('tokens.delete');
    expect(actionName('PATCH', '/api/v1/nodes/:id')).toBe('nodes.update');
    expect(actionName('PUT', '/api/v1/approval-policies/:name')).toBe('approval_policies.put');
    expect(actionName('POST', '/api/v1/enrollment-tokens')).toBe('enrollment_tokens.create');
    expect(actionName('GET', '/api/v1/tokens')).toBe('tokens.get');
  });

  it('summaries keep a few safe fields and never the payload', () => {
    const s = summaryOf({ node: 'web1', type: 'ftp.user.apply', payload: { password: 'hunter2' }, target: { nodes: ['a', 'b'] }, env: { TOKEN: 'x' } });
    expect(s).toEqual({ node: 'web1', type: 'ftp.user.apply', target: { nodes: ['a', 'b'] } });
    expect(summaryOf({ target: { nodes: Array.from({ length: 50 }, (_, i) => `n${i}`) } })).toEqual({ target: { nodes: '50 nodes' } });
    expect(summaryOf({ reason: 'x'.repeat(500) }).reason).toHaveLength(201);
    expect(summaryOf(undefined)).toEqual({});
  });
});

describe('approval policy matching', () => {
  it('matches types by glob', () => {
    expect(typeMatches('exec.*', 'exec.run')).toBe(true);
    expect(typeMatches('exec.*', 'execx.run')).toBe(false);
    expect(typeMatches('*', 'fs.rm')).toBe(true);
    expect(typeMatches('fs.rm', 'fs.rm')).toBe(true);
    expect(typeMatches('fs.rm', 'fs.rmdir')).toBe(false);
    expect(typeMatches('*.apply', 'ftp.user.apply')).toBe(true);
    expect(typeMatches('exec.*', 'exec.')).toBe(true);
    expect(typeMatches('f*.*.apply', 'ftp.user.apply')).toBe(true);
    expect(typeMatches('f*.*.apply', 'ftp.apply')).toBe(false);
    // Linear: a glob of many stars against a long type that does not match ends at once.
    const started = performance.now();
    expect(typeMatches('a*'.repeat(50) + 'b', 'a'.repeat(100))).toBe(false);
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('picks the strictest policy covering a node, none when the selector does not match', () => {
    const row = (name: string, selector: string | null, approvals: number, ttl: number) => ({
      name,
      command_types: JSON.stringify(['exec.*']),
      selector,
      approvals,
      ttl_seconds: ttl,
      created_at: 0,
      updated_at: 0,
    });
    const policies = compilePolicies([row('a', 'env=prod', 1, 600), row('b', 'env=prod,role=db', 2, 600), row('c', null, 1, 60)]);
    const node = (labels: Record<string, string>) => ({ labels: JSON.stringify(labels) });
    expect(policyFor(policies, 'exec.run', node({ env: 'prod', role: 'db' }))?.name).toBe('b');
    expect(policyFor(policies, 'exec.run', node({ env: 'prod' }))?.name).toBe('c');
    expect(policyFor(policies, 'fs.rm', node({ env: 'prod' }))).toBeUndefined();
    expect(policyFor(compilePolicies([row('a', 'env=prod', 1, 600)]), 'exec.run', node({ env: 'dev' }))).toBeUndefined();
  });
});
