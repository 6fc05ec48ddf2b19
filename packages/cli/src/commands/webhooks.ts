import { InvalidArgumentError, type Command } from 'commander';
import { WEBHOOK_EVENTS, WEBHOOK_HEADERS, type Webhook, type WebhookEvent, type WebhookFilter } from '@steward/protocol';
import { collectList, selector } from '../args.js';
import { clientFor, withConnection } from '../connect.js';
import { ago, table, timestamp } from '../format.js';
import { printJson, println } from '../output.js';

function event(value: string, previous: WebhookEvent[] = []): WebhookEvent[] {
  if (!(WEBHOOK_EVENTS as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${WEBHOOK_EVENTS.join(', ')}`);
  return [...previous, value as WebhookEvent];
}

export function registerWebhooks(program: Command): void {
  const webhooks = program
    .command('webhooks')
    .description('URLs that receive signed notifications of alerts and of command, job, task and service events (admin/operator)');

  withConnection(
    webhooks
      .command('add')
      .description('add a webhook; prints its signing secret once')
      .argument('<url>', 'http(s) URL that receives POSTs')
      .option('--name <name>', 'a name for people (default: the URL host)')
      .option('--event <event>', `these events (repeatable; default: the alert events): ${WEBHOOK_EVENTS.join(', ')}`, event)
      .option('--type <pattern>', 'only these command types, task kinds, service names or alert sources (exec.run, service.*; repeatable)', collectList)
      .option('--state <state>', 'only these final states, or new service states (failed, timed_out, fatal…; repeatable)', collectList)
      .option('--selector <sel>', "only events of nodes matching this label selector (a job's events never match one)", selector)
      .option('--json', 'print JSON'),
  ).action(async (url: string, opts: { name?: string; event?: WebhookEvent[]; type?: string[]; state?: string[]; selector?: string; json?: boolean }, cmd: Command) => {
    const filter: WebhookFilter = { types: opts.type, states: opts.state, selector: opts.selector };
    const given = Object.values(filter).some((v) => v !== undefined);
    const created = await clientFor(cmd).createWebhook({ url, name: opts.name, events: opts.event, ...(given ? { filter: JSON.parse(JSON.stringify(filter)) as WebhookFilter } : {}) });
    if (opts.json) return printJson(created);
    println(`id:      ${created.id}`);
    println(`url:     ${created.url}`);
    println(`events:  ${created.events.join(', ')}`);
    if (created.filter) println(`filter:  ${filterText(created)}`);
    println(`secret:  ${created.secret}`);
    println('');
    println('This is the only time the secret is shown. Receivers check each request with');
    println(`HMAC-SHA256(secret, "<${WEBHOOK_HEADERS.timestamp}>.<body>") = ${WEBHOOK_HEADERS.signature} (after "sha256=").`);
  });

  withConnection(webhooks.command('ls').description('list webhooks').option('--json', 'print JSON')).action(
    async (opts: { json?: boolean }, cmd: Command) => {
      const { items } = await clientFor(cmd).listWebhooks();
      if (opts.json) return printJson(items);
      if (items.length === 0) return println('no webhooks');
      println(table(['ID', 'NAME', 'EVENTS', 'FILTER', 'CREATED', 'URL'], items.map((w) => [w.id, w.name, w.events.join(','), filterText(w) || '-', ago(w.createdAt), w.url])));
    },
  );

  withConnection(webhooks.command('rm').description('remove a webhook and its delivery log').argument('<id>', 'webhook id')).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      await clientFor(cmd).deleteWebhook(id);
      println(`deleted ${id}`);
    },
  );

  withConnection(
    webhooks
      .command('deliveries')
      .description('the delivery log: every attempt with its status code or error and duration')
      .argument('<id>', 'webhook id')
      .option('--limit <n>', 'at most this many deliveries', (v) => Number.parseInt(v, 10), 50)
      .option('--json', 'print JSON'),
  ).action(async (id: string, opts: { limit: number; json?: boolean }, cmd: Command) => {
    const { items } = await clientFor(cmd).listWebhookDeliveries(id, { limit: opts.limit });
    if (opts.json) return printJson(items);
    if (items.length === 0) return println('no deliveries');
    for (const d of items) {
      const next = d.nextAttemptAt ? `, next attempt ${timestamp(d.nextAttemptAt)}` : '';
      println(`${d.id}  ${d.event}  ${d.alertId ? `alert ${d.alertId}` : d.subject}  ${d.state}${next}`);
      for (const a of d.attempts) {
        println(`  #${a.n}  ${timestamp(a.at)}  ${a.statusCode ?? '-'}  ${a.durationMs}ms${a.error ? `  ${a.error}` : ''}`);
      }
    }
  });
}

/** A filter as one line: `type=exec.* state=failed selector=role=web`. */
function filterText(w: Webhook): string {
  const f = w.filter;
  if (!f) return '';
  return [f.types && `type=${f.types.join(',')}`, f.states && `state=${f.states.join(',')}`, f.selector && `selector=${f.selector}`].filter(Boolean).join(' ');
}
