import type { Kysely } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { notifyChannel } from '../store/queries/relay.js';
import type { Database } from '../store/schema.js';
import type { Relay, RelayMessage } from './relay.js';

const CHANNEL = 'steward_relay';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_PAYLOAD = 7900;

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
    client.on('error', (err) => {
      this.log.warn({ err }, 'relay connection lost; listening again in 1 s');
      this.client = null;
      client.end().catch(() => {});
      if (!this.stopped) setTimeout(() => void this.listen().catch((e) => this.log.error({ err: e }, 'relay listen failed')), 1000);
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.client = client;
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
