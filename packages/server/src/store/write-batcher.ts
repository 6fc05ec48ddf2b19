import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

interface Pending {
  fn: (db: Kysely<Database>) => Promise<unknown>;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

const MAX_BATCH = 1000;

/**
 * Group commit: writes that arrive in the same event-loop turn share one transaction, so a
 * burst of agent messages costs one commit instead of one each. Each caller's promise settles
 * only after the commit, so "acknowledge once stored" still holds.
 */
export class WriteBatcher {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(private readonly db: Kysely<Database>) {}

  run<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const items = this.queue.splice(0, MAX_BATCH);
    this.scheduled = false;
    if (this.queue.length) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
    if (items.length === 0) return;
    let results: unknown[];
    try {
      results = await this.db.transaction().execute(async (trx) => {
        const out: unknown[] = [];
        for (const item of items) out.push(await item.fn(trx));
        return out;
      });
    } catch {
      // One failing write must not take the others with it: run each on its own.
      for (const item of items) {
        try {
          item.resolve(await this.db.transaction().execute((trx) => item.fn(trx)));
        } catch (e) {
          item.reject(e);
        }
      }
      return;
    }
    items.forEach((item, i) => item.resolve(results[i]));
  }
}
