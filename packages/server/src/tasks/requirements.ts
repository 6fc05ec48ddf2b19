import { matchesSelector, parseSelector, type Labels, type Selector, type TaskRequirements } from '@steward/protocol';

/** What the scheduler knows of a node (from `task_nodes`, parsed once). */
export interface NodeFacts {
  id: string;
  slots: number;
  cpuCores: number;
  memoryBytes: number;
  diskBytes: number;
  platform: string;
  arch: string;
  capabilities: ReadonlySet<string>;
  labels: Labels;
  /** 1-minute load per core. */
  load: number;
}

const MB = 1024 * 1024;

/** A requirement as a test on a node plus the words a person reads when no node passes it. */
interface Check {
  test(n: NodeFacts): boolean;
  /** Completes "no online node has …". */
  words: string;
}

export function formatMB(mb: number): string {
  if (mb >= 1024 && mb % 1024 === 0) return `${mb / 1024} GB`;
  if (mb >= 1024) return `${(mb / 1024).toFixed(1)} GB`;
  return `${mb} MB`;
}

/** Compiled requirements of a task: every check must hold. */
export class RequirementSet {
  readonly checks: Check[] = [];

  constructor(req: TaskRequirements) {
    if (req.cpuCores !== undefined) {
      const c = req.cpuCores;
      this.checks.push({ test: (n) => n.cpuCores >= c, words: `${c} CPU core${c === 1 ? '' : 's'}` });
    }
    if (req.memoryMB !== undefined) {
      const b = req.memoryMB * MB;
      this.checks.push({ test: (n) => n.memoryBytes >= b, words: `${formatMB(req.memoryMB)} memory` });
    }
    if (req.diskMB !== undefined) {
      const b = req.diskMB * MB;
      this.checks.push({ test: (n) => n.diskBytes >= b, words: `${formatMB(req.diskMB)} free disk` });
    }
    if (req.platform !== undefined) {
      const p = req.platform;
      this.checks.push({ test: (n) => n.platform === p, words: `platform ${p}` });
    }
    if (req.arch !== undefined) {
      const a = req.arch;
      this.checks.push({ test: (n) => n.arch === a, words: `architecture ${a}` });
    }
    if (req.selector !== undefined) {
      const sel: Selector = parseSelector(req.selector, 'requirements.selector');
      this.checks.push({ test: (n) => matchesSelector(n.labels, sel), words: `labels matching ${req.selector}` });
    }
    for (const cap of req.capabilities ?? []) {
      this.checks.push({ test: (n) => n.capabilities.has(cap), words: `capability ${cap}` });
    }
  }

  matches(n: NodeFacts): boolean {
    for (const c of this.checks) if (!c.test(n)) return false;
    return true;
  }

  /** Why none of `nodes` (the online ones) can ever take the task, in words. */
  explain(nodes: readonly NodeFacts[]): string {
    if (nodes.length === 0) return 'no online node runs the task module';
    const alone = this.checks.filter((c) => !nodes.some((n) => c.test(n)));
    if (alone.length) return `no online node has ${alone.map((c) => c.words).join(', ')}`;
    return `no online node has all of: ${this.checks.map((c) => c.words).join(', ')}`;
  }
}
