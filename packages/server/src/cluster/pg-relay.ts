import type { Kysely } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { notifyChannel } from '../store/queries/relay.js';
import type { Database } from '../store/schema.js';
import type { Relay, RelayMessage } from './relay.js';

const CHANNEL = 'steward_relay';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_PAYLOAD = 7900;
/** Pause between attempts to LISTEN again after the connection was lost. */
const RELISTEN_MS = 1000;

/** LISTEN/NOTIFY between replicas on one PostgreSQL database. */
export class PgRelay implements Relay {
  private client: pg.Client | null = null;
  private stopped = false;
  private handler: (msg: RelayMessage) => void = () => {};

  constructor(
    private readonly url: string,
    private readonly db: Kysely<Database>,
    private readonly replicaId: string,
    private readonly log: Logger,
  ) {}

  async start(onMessage: (msg: RelayMessage) => void): Promise<void> {
    this.handler = onMessage;
    await this.listen();
  }

  /** Whether LISTEN is in place (false while PostgreSQL is away and the relay retries). */
  get listening(): boolean {
    return this.client !== null;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (n) => {
      if (!n.payload) return;
      try {
        const m = JSON.parse(n.payload) as RelayMessage & { from: string };
        if (m.from !== this.replicaId) this.handler(m);
      } catch (err) {
        this.log.warn({ err }, 'ignored an unreadable relay message');
      }
    });
    // 'error' (the server went away) and 'end' (the socket closed without one) both mean: listen again.
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = null;
      client.end().catch(() => {});
      if (!this.stopped) {
        this.log.warn({ err }, 'relay connection lost; listening again');
        this.relisten();
      }
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      lost = true;
      client.end().catch(() => {});
      throw err;
    }
    this.client = client;
  }

  /**
   * Retries LISTEN until PostgreSQL answers again (every RELISTEN_MS): a restart of the
   * database can last longer than one attempt. Messages published meanwhile are lost to this
   * replica; agents' heartbeats repair what they carried (see Relay).
   */
  private relisten(): void {
    setTimeout(() => {
      if (this.stopped) return;
      this.listen().then(
        () => this.log.info('relay listening again'),
        (err: unknown) => {
          this.log.debug({ err }, 'relay listen failed; trying again');
          this.relisten();
        },
      );
    }, RELISTEN_MS).unref();
  }

  publish(msg: RelayMessage): void {
    for (const part of split(msg)) {
      const payload = JSON.stringify({ ...part, from: this.replicaId });
      if (payload.length > MAX_PAYLOAD) {
        this.log.warn({ kind: part.kind }, 'relay message too large to send; the next heartbeat repairs');
        continue;
      }
      notifyChannel(this.db, CHANNEL, payload).catch((err) => this.log.warn({ err }, 'relay publish failed'));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.end().catch(() => {});
    this.client = null;
  }
}

function split(msg: RelayMessage): RelayMessage[] {
  if (msg.kind !== 'dispatch' || msg.ids.length <= 100) return [msg];
  const out: RelayMessage[] = [];
  for (let i = 0; i < msg.ids.length; i += 100) out.push({ ...msg, ids: msg.ids.slice(i, i + 100) });
  return out;
}
