import { InvalidArgumentError, type Command } from 'commander';
import { ApiError } from '@steward/client';
import { StewardEvent } from '@steward/protocol';
import { clientFor, withConnection } from '../connect.js';
import { bytes, countsText } from '../format.js';
import { NodeNames } from '../node-names.js';
import { eprintln, println } from '../output.js';

/** One event as a line; `node` is the name of the node it is about, when it is about one. */
export function eventLine(e: StewardEvent, node?: string): string {
  const time = new Date(e.at).toISOString().slice(11, 23);
  let text: string;
  switch (e.kind) {
    case 'node.status':
      text = `${e.name} ${e.status}${e.reason ? ` (${e.reason})` : ''}`;
      break;
    case 'node.changed':
      text = `${e.name} ${e.change}`;
      break;
    case 'command.state':
      text = `${e.commandId} ${e.type} on ${node ?? e.nodeId}: ${e.state}${e.jobId ? ` (job ${e.jobId})` : ''}`;
      break;
    case 'command.progress': {
      const p = e.progress;
      const amount = (n: number) => (p.unit === 'bytes' ? bytes(n) : String(n));
      text = `${e.commandId} ${e.type} on ${node ?? e.nodeId}: ${p.phase} ${amount(p.done)}${p.total !== null ? `/${amount(p.total)}` : ''}`;
      break;
    }
    case 'job.state':
      text = `${e.jobId} ${e.state} ${countsText(e.counts)}`;
      break;
    case 'service.state':
      text = `${e.service}${e.nodeId ? ` on ${node ?? e.nodeId}` : ''}: ${e.state ?? 'desired'}${e.version ? ` ${e.version}` : ''}${e.reason ? ` (${e.reason})` : ''}`;
      break;
    case 'task.state':
      text = `${e.taskId} ${e.state}${e.nodeId ? ` on ${node ?? e.nodeId}` : ''} (attempt ${e.attempt}${e.progress !== null ? `, ${e.progress}%` : ''})${e.reason ? `: ${e.reason}` : ''}`;
      break;
    case 'node.config':
      text = `${node ?? e.nodeId}: config ${e.revision} ${e.state}${e.reason ? ` (${e.reason})` : ''}`;
      break;
    case 'agent-upgrade':
      text = `upgrade ${e.upgradeId} to ${e.version}: ${e.nodeId ? `${node ?? e.nodeId} ${e.nodeState ?? ''}` : e.state}${e.reason ? ` (${e.reason})` : ''}`;
      break;
    case 'agent-config.changed':
      text = `config document ${e.name} ${e.change}${e.version !== null ? ` (version ${e.version})` : ''}`;
      break;
    case 'alert.fired':
    case 'alert.resolved':
    case 'alert.acked': {
      const a = e.alert;
      const after = e.kind === 'alert.resolved' ? ` → ${a.resolveSummary ?? 'resolved'}` : e.kind === 'alert.acked' ? ` (by ${a.ackedBy ?? '?'})` : '';
      text = `${a.id} ${a.severity}: ${a.summary}${after}`;
      break;
    }
    default:
      text = JSON.stringify(e);
  }
  return `${time}  ${(e as { kind: string }).kind.padEnd(13)}  ${text}`;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

// Here rather than in args.ts: the schema union loads TypeBox, which only `steward events` needs.
/** Every SSE event kind, from the protocol's event union (so a new kind needs no CLI change). */
const EVENT_KINDS: string[] = StewardEvent.anyOf.map((s) => s.properties.kind.const as string);

export function eventKinds(value: string): string[] {
  const known = EVENT_KINDS;
  const kinds = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = kinds.filter((k) => !known.includes(k));
  if (kinds.length === 0 || bad.length) {
    throw new InvalidArgumentError(`Expected a comma-separated list of ${known.join(', ')}.`);
  }
  return kinds;
}

export function registerEvents(program: Command): void {
  withConnection(
    program
      .command('events')
      .description('follow live events until interrupted')
      .option('--kinds <list>', 'only these kinds: node.status,node.changed,command.state,job.state', eventKinds)
      .option('--json', 'print one JSON object per line'),
  ).action(async (opts: { kinds?: string[]; json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const names = new NodeNames(client);
    const stop = new AbortController();
    const quit = () => stop.abort();
    process.once('SIGINT', quit);
    process.once('SIGTERM', quit);
    let lastEventId: string | undefined;
    let delay = 1000;
    while (!stop.signal.aborted) {
      try {
        for await (const { id, event } of client.events({ kinds: opts.kinds, lastEventId, signal: stop.signal })) {
          if (id) lastEventId = id;
          delay = 1000;
          if (opts.json) {
            println(JSON.stringify(event));
            continue;
          }
          const nodeId = (event as { nodeId?: string | null }).nodeId;
          println(eventLine(event, nodeId ? await names.name(nodeId) : undefined));
        }
      } catch (e) {
        if (stop.signal.aborted) break;
        // A refusal (bad token, bad filter) will not get better by retrying.
        if (e instanceof ApiError && e.status >= 400 && e.status < 500) throw e;
        eprintln(`event stream: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (stop.signal.aborted) break;
      eprintln(`event stream closed; reconnecting in ${delay / 1000}s`);
      await sleep(delay, stop.signal);
      delay = Math.min(delay * 2, 30_000);
    }
  });
}
