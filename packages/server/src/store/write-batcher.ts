import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * A write whose items, from many callers, are stored together: every item of one flush goes to
 * `run` at once (one multi-row statement instead of one each), graphile-worker style.
 */
export interface BulkWrite<I, R> {
  /**
   * Groups of one flush run in ascending rank, after the flush's single writes: a command's
   * start (lower rank) is stored before its result when both wait in the same flush.
   */
  readonly rank: number;
  /** One answer per item, in the items' order. Atomic only inside the flush's transaction. */
  run(db: Kysely<Database>, items: I[]): Promise<R[]>;
}

interface Single {
  fn: (db: Kysely<Database>) => Promise<unknown>;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

interface Bulk {
  op: BulkWrite<unknown, unknown>;
  item: unknown;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

type Pending = Single | Bulk;

const MAX_BATCH = 1000;

/**
 * Group commit: writes that arrive in the same event-loop turn share one transaction, so a
 * burst of agent messages costs one commit instead of one each; bulk writes of the same kind
 * also share one statement. Each caller's promise settles only after the commit, so
 * "acknowledge once stored" still holds.
 */
export class WriteBatcher {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(private readonly db: Kysely<Database>) {}

  run<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => this.enqueue({ fn, resolve: resolve as (v: unknown) => void, reject }));
  }

  bulk<I, R>(op: BulkWrite<I, R>, item: I): Promise<R> {
    return new Promise<R>((resolve, reject) =>
      this.enqueue({ op: op as BulkWrite<unknown, unknown>, item, resolve: resolve as (v: unknown) => void, reject }),
    );
  }

  private enqueue(p: Pending): void {
    this.queue.push(p);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  private async flush(): Promise<void> {
    const items = this.queue.splice(0, MAX_BATCH);
    this.scheduled = false;
    if (this.queue.length) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
    if (items.length === 0) return;
    const singles: Single[] = [];
    const groups = new Map<BulkWrite<unknown, unknown>, Bulk[]>();
    for (const p of items) {
      if ('fn' in p) singles.push(p);
      else {
        const g = groups.get(p.op);
        if (g) g.push(p);
        else groups.set(p.op, [p]);
      }
    }
    const ordered = [...groups.entries()].sort((a, b) => a[0].rank - b[0].rank);
    let results: { singles: unknown[]; groups: unknown[][] };
    try {
      results = await this.db.transaction().execute(async (trx) => {
        const out = { singles: [] as unknown[], groups: [] as unknown[][] };
        for (const s of singles) out.singles.push(await s.fn(trx));
        for (const [op, g] of ordered) out.groups.push(await runGroup(trx, op, g));
        return out;
      });
    } catch {
      // One failing write must not take the others with it: run each on its own.
      for (const s of singles) {
        try {
          s.resolve(await this.db.transaction().execute((trx) => s.fn(trx)));
        } catch (e) {
          s.reject(e);
        }
      }
      for (const [op, g] of ordered) {
        for (const b of g) {
          try {
            b.resolve((await this.db.transaction().execute((trx) => runGroup(trx, op, [b])))[0]);
          } catch (e) {
            b.reject(e);
          }
        }
      }
      return;
    }
    singles.forEach((s, i) => s.resolve(results.singles[i]));
    ordered.forEach(([, g], i) => g.forEach((b, j) => b.resolve(results.groups[i]![j])));
  }
}

async function runGroup(db: Kysely<Database>, op: BulkWrite<unknown, unknown>, g: Bulk[]): Promise<unknown[]> {
  const out = await op.run(db, g.map((b) => b.item));
  if (out.length !== g.length) throw new Error(`bulk write answered ${out.length} results for ${g.length} items`);
  return out;
}
