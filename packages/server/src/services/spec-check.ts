import { findAfterCycle, parseSelector, ValidationError, type FieldIssue, type OrderedService, type ServicePut } from '@steward/protocol';

/** What the schema cannot say: exactly-one-of choices and relations between fields. */
export function checkServiceSpec(spec: ServicePut): void {
  const issues: FieldIssue[] = [];
  const a = spec.artifact;
  if ((a.url === undefined) === (a.artifactSha256 === undefined)) {
    issues.push({ field: 'artifact.url', rule: 'give exactly one of artifact.url and artifact.artifactSha256' });
  }
  if (a.artifactSha256 !== undefined && a.artifactSha256 !== a.sha256) {
    issues.push({ field: 'artifact.sha256', rule: 'must equal artifact.artifactSha256 (the store names files by their SHA-256)' });
  }
  if (spec.health) {
    const kinds = (['tcp', 'http', 'exec'] as const).filter((k) => spec.health![k] !== undefined);
    if (kinds.length !== 1) issues.push({ field: 'health', rule: 'give exactly one of health.tcp, health.http, health.exec' });
  }
  const r = spec.restart;
  if (r?.initialDelayMs !== undefined && r.maxDelayMs !== undefined && r.maxDelayMs < r.initialDelayMs) {
    issues.push({ field: 'restart.maxDelayMs', rule: 'must be at least restart.initialDelayMs' });
  }
  if ('selector' in spec.target) {
    try {
      parseSelector(spec.target.selector, 'target.selector');
    } catch (e) {
      if (e instanceof ValidationError) issues.push(...((e.details as { issues: FieldIssue[] }).issues ?? []));
      else throw e;
    }
  }
  if (issues.length) throw new ValidationError(`invalid service: ${issues.map((i) => `${i.field}: ${i.rule}`).join('; ')}`, issues);
}

/**
 * Refuses a spec whose `after` closes a cycle with the live services. All services count, whatever
 * their targets: targets change (a label, a new node), and a cycle that is not on a node today
 * would block that node's start order the day it is.
 */
export function checkStartOrder(name: string, spec: ServicePut, others: readonly OrderedService[]): void {
  const cycle = findAfterCycle([{ name, after: spec.after }, ...others.filter((o) => o.name !== name)]);
  if (cycle) {
    throw new ValidationError(`invalid service: after: start order has a cycle: ${cycle.join(' → ')}`, [
      { field: 'after', rule: `start order has a cycle: ${cycle.join(' → ')}` },
    ]);
  }
}
