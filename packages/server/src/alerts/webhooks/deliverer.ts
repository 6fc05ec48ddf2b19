import { Agent, request } from 'undici';
import { newId, WEBHOOK_HEADERS } from '@steward/protocol';
import { signWebhook } from '@steward/protocol/node';
import type { Context } from '../../core/context.js';
import { claimDeliveries, getWebhook, recordAttempt, type AttemptOutcome } from '../../store/queries/webhooks.js';
import type { WebhookDeliveriesTable } from '../../store/schema.js';
import type { DestinationPolicy } from '../../security/destinations.js';
import { backoffDelay, type AlertSettings } from '../settings.js';

const USER_AGENT = 'steward-webhooks/1';

/**
 * Sends queued webhook deliveries. Each round claims due rows in a transaction (so with several
 * replicas on one PostgreSQL exactly one sends a given attempt), posts them, and records each
 * attempt; a failed attempt is due again after an exponential backoff until `maxAttempts`.
 * Pending rows live in the store, so a restart resumes them.
 */
export class WebhookDeliverer {
  private round: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  /** Connections whose every address went through the destination policy (resolve, check, connect to what was checked). */
  private readonly dispatcher: Agent;

  constructor(
    private readonly ctx: Context,
    private readonly settings: AlertSettings['webhook'],
    private readonly replicaId: string,
    private readonly destinations: DestinationPolicy,
  ) {
    this.dispatcher = new Agent({ connect: { lookup: destinations.lookup } });
  }

  /** Starts a round now (new deliveries were queued) or right after the running one. */
  kick(): void {
    if (this.stopped) return;
    if (this.round) {
      this.again = true;
      return;
    }
    this.round = this.runRounds().finally(() => (this.round = null));
  }

  private async runRounds(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.roundOnce();
      } catch (err) {
        this.ctx.log.error({ err }, 'webhook delivery round failed');
      }
    } while (this.again && !this.stopped);
  }

  /** One claim-and-send round; returns how many deliveries it attempted. */
  async roundOnce(): Promise<number> {
    const now = this.ctx.now();
    // Well past one attempt's time limit, so a live replica finishes before anyone takes
    // over; a replica that died mid-attempt holds its rows only this long.
    const leaseMs = 2 * this.settings.timeoutMs + 5000;
    const claimed = await this.ctx.store.tx((db) =>
      claimDeliveries(db, {
        now,
        owner: this.replicaId,
        leaseMs,
        limit: this.settings.concurrency,
        skipLocked: this.ctx.store.dialect === 'postgres',
      }),
    );
    await Promise.all(claimed.map((d) => this.attempt(d, now + leaseMs)));
    // A full batch means more may be due right now.
    if (claimed.length === this.settings.concurrency) this.again = true;
    return claimed.length;
  }

  private async attempt(d: WebhookDeliveriesTable, leaseUntil: number): Promise<void> {
    const hook = await getWebhook(this.ctx.store.db, d.webhook_id);
    const n = d.attempts + 1;
    const at = this.ctx.now();
    const started = performance.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    if (!hook) {
      error = 'webhook was removed';
    } else {
      const timestamp = String(at);
      try {
        // An address literal never reaches `lookup`, so it is checked here (a hook stored before the policy existed).
        this.destinations.checkUrl(new URL(hook.url));
        const res = await request(hook.url, {
          // undici's request follows no redirects: a 3xx could lead anywhere, so it counts as a failure.
          dispatcher: this.dispatcher,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': USER_AGENT,
            [WEBHOOK_HEADERS.timestamp]: timestamp,
            [WEBHOOK_HEADERS.signature]: signWebhook(hook.secret, timestamp, d.body),
            [WEBHOOK_HEADERS.event]: d.event,
            [WEBHOOK_HEADERS.delivery]: d.id,
          },
          body: d.body,
          signal: AbortSignal.timeout(this.settings.timeoutMs),
        });
        statusCode = res.statusCode;
        await res.body.dump();
        if (statusCode < 200 || statusCode >= 300) error = `answered ${statusCode}`;
      } catch (e) {
        const err = e as Error & { code?: string; cause?: Error };
        error =
          err.name === 'TimeoutError'
            ? `no answer within ${this.settings.timeoutMs} ms`
            : err.code === 'destination_refused'
              ? err.message
              : (err.code ?? err.cause?.message ?? err.message);
      }
    }
    const durationMs = Math.round(performance.now() - started);
    const ok = error === null;
    const giveUp = !ok && (n >= this.settings.maxAttempts || !hook);
    const outcome: AttemptOutcome = {
      attempt: { id: newId('wha'), delivery_id: d.id, n, at, duration_ms: durationMs, status_code: statusCode, error },
      state: ok ? 'succeeded' : giveUp ? 'failed' : 'pending',
      nextAttemptAt: ok || giveUp ? null : this.ctx.now() + backoffDelay(n, this.settings.backoffMs, this.settings.backoffMaxMs),
    };
    const kept = await this.record(d.id, outcome, leaseUntil);
    const log = { deliveryId: d.id, webhookId: d.webhook_id, attempt: n, statusCode, durationMs, state: outcome.state };
    if (!kept) this.ctx.log.warn(log, 'webhook delivery was taken over by another replica; attempt not recorded');
    else if (ok) this.ctx.log.debug(log, 'webhook delivered');
    else this.ctx.log.warn({ ...log, error }, giveUp ? 'webhook delivery failed for good' : 'webhook attempt failed; will retry');
  }

  /**
   * Records an attempt, trying again while the store is unreachable (a PostgreSQL restart) and
   * the lease is still this replica's. The receiver may have the request already: an outcome
   * dropped here would leave the row leased until the lease ran out, and then the delivery
   * would go out a second time (found by the chaos soak, docs/soak.md).
   */
  private async record(id: string, outcome: AttemptOutcome, leaseUntil: number): Promise<boolean> {
    for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
      try {
        return await recordAttempt(this.ctx.store.db, id, this.replicaId, outcome);
      } catch (err) {
        if (this.stopped || this.ctx.now() + delay >= leaseUntil) throw err;
        this.ctx.log.warn({ err, deliveryId: id }, 'could not record a webhook attempt; trying again while the lease holds');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.round;
    await this.dispatcher.close();
  }
}
