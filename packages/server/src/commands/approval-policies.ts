import { matchesSelector, parseSelector, type ApprovalPolicy, type Labels, type Selector } from '@steward/protocol';
import type { ApprovalPoliciesTable, ApprovalRequestsTable, NodesTable } from '../store/schema.js';
import { fromJson } from '../store/rows.js';

export function policyFromRow(r: ApprovalPoliciesTable): ApprovalPolicy {
  return {
    name: r.name,
    commandTypes: fromJson<string[]>(r.command_types) ?? [],
    selector: r.selector,
    approvals: Number(r.approvals),
    ttlSeconds: Number(r.ttl_seconds),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/**
 * `exec.*` covers `exec.run` and `exec.shell.x`; `*` covers everything; `*` elsewhere matches any
 * run of characters. Matched by the two-pointer wildcard walk (O(glob × type)), not a RegExp, so
 * a glob like `a*a*a*…` cannot backtrack exponentially.
 */
export function typeMatches(glob: string, type: string): boolean {
  let g = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < type.length) {
    if (g < glob.length && glob[g] !== '*' && glob[g] === type[t]) {
      g++;
      t++;
    } else if (g < glob.length && glob[g] === '*') {
      star = g++;
      resume = t;
    } else if (star >= 0) {
      g = star + 1;
      t = ++resume;
    } else return false;
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}

/** A policy with its selector parsed once per submission. */
export interface CompiledPolicy {
  policy: ApprovalPolicy;
  selector: Selector | null;
}

export function compilePolicies(rows: ApprovalPoliciesTable[]): CompiledPolicy[] {
  return rows.map(policyFromRow).map((policy) => ({ policy, selector: policy.selector ? parseSelector(policy.selector) : null }));
}

/**
 * The policy that holds a command of this type to this node, or undefined. When several cover
 * it, the strictest wins: the most approvals, then the shortest TTL, then the first by name.
 */
export function policyFor(policies: CompiledPolicy[], type: string, node: Pick<NodesTable, 'labels'>): ApprovalPolicy | undefined {
  let best: ApprovalPolicy | undefined;
  let labels: Labels | undefined;
  for (const c of policies) {
    if (!c.policy.commandTypes.some((g) => typeMatches(g, type))) continue;
    labels ??= fromJson<Labels>(node.labels) ?? {};
    if (c.selector && !matchesSelector(labels, c.selector)) continue;
    best = stricter(best, c.policy);
  }
  return best;
}

/** Of two policies, the one asking more: more approvals, then the shorter TTL (the first on a tie). */
export function stricter(a: ApprovalPolicy | undefined, b: ApprovalPolicy): ApprovalPolicy {
  if (!a) return b;
  return b.approvals > a.approvals || (b.approvals === a.approvals && b.ttlSeconds < a.ttlSeconds) ? b : a;
}

/** The token that submitted a command or job; policies hold only what operators submit. */
export interface Requester {
  tokenId: string;
  name: string;
}

/** Holds a new command row for approval under `policy`: not sent, expiring unapproved at the policy's TTL. */
export function holdForApproval(row: { state: string; expires_at: number | null }, policy: ApprovalPolicy, now: number): void {
  row.state = 'awaiting_approval';
  row.expires_at = now + policy.ttlSeconds * 1000;
}

export function approvalRequestRow(
  id: string,
  kind: 'command' | 'job',
  type: string,
  policy: ApprovalPolicy,
  requester: Requester,
  now: number,
): ApprovalRequestsTable {
  return {
    id,
    kind,
    type,
    policy: policy.name,
    needed: policy.approvals,
    state: 'awaiting',
    requested_by: requester.tokenId,
    requested_by_name: requester.name,
    created_at: now,
    expires_at: now + policy.ttlSeconds * 1000,
    decided_at: null,
    reason: null,
  };
}
