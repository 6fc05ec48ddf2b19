import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  BACKUPX_HEARTBEAT_PATH,
  BACKUPX_POLL_PATH,
  BACKUPX_RESULT_PATH,
  BACKUPX_TOKEN_HEADER,
  BackupXCommandResult,
  BackupXHeartbeat,
  BackupXId,
  compile,
  type BackupXHeartbeatAnswer,
  type BackupXPollAnswer,
  type Inventory,
} from '@steward/protocol';
import type { Context } from '../../../core/context.js';
import { bearerOf } from '../../../security/secrets.js';
import { updateNodeRow } from '../../../store/queries/nodes.js';
import type { NodesTable } from '../../../store/schema.js';
import type { Transport, TransportHost } from '../../transport.js';
import { ProxiedAgent } from '../proxied-agent.js';
import { backupxIdOf, CommandLedger } from './command-ids.js';
import { BackupXError, installEnvelopeErrors, invalidToken, ok } from './envelope.js';
import { inventoryFromHeartbeat, storedInventory } from './inventory.js';
import { FS_LIST, fsListResult, LIST_DIR, listDirAsk, listDirFailure } from './list-dir.js';

/** Who a token is; BackupX's tokens are Steward enrollment tokens (compat/backupx decides). */
export interface BackupXNodes {
  /**
   * The node whose `X-Agent-Token` this is. With `joining` (a heartbeat), a token no node has
   * yet enrolls one. Throws a BackupXError (401) for a token that is not, or no longer, a node's.
   */
  resolve(token: string, joining?: { heartbeat: BackupXHeartbeat; source: string; inventory: Inventory }): Promise<NodesTable>;
}

export interface BackupXTransportOptions {
  nodes: BackupXNodes;
  /** A node whose agent sent nothing for this long is disconnected (offline by liveness). */
  silenceMs: number;
}

const checkHeartbeat = compile(BackupXHeartbeat);
const checkResult = compile(BackupXCommandResult);
const checkId = compile(BackupXId);
const SMALL_BODY = 16 * 1024;
/** A `list_dir` result of 100,000 entries fits. */
const RESULT_BODY = 16 * 1024 * 1024;

/**
 * BackupX's agent API on the control plane's HTTP server: heartbeat, poll and result, the
 * pull-based transport of the link. Each node the agents speak for is one ProxiedAgent on the
 * link, opened by the first request after a silence and closed after `silenceMs` without one.
 * Commands wait in it until the agent polls (every 5 s); the poll is when a command starts.
 */
export class BackupXTransport implements Transport {
  readonly name = 'backupx';
  private host: TransportHost | null = null;
  private readonly devices = new Map<string, ProxiedAgent>();
  private readonly opening = new Map<string, Promise<ProxiedAgent>>();
  private readonly ledgers = new Map<string, CommandLedger>();
  private stopped = false;

  constructor(
    private readonly ctx: Context,
    private readonly opts: BackupXTransportOptions,
  ) {}

  async install(app: FastifyInstance, host: TransportHost): Promise<void> {
    this.host = host;
    await app.register(async (scope) => {
      installEnvelopeErrors(scope);
      // The agent polls with no body at all; an empty JSON body is "nothing said", not an error.
      scope.removeContentTypeParser('application/json');
      scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
        try {
          done(null, body === '' ? undefined : JSON.parse(body as string));
        } catch (e) {
          done(Object.assign(e as Error, { statusCode: 400 }), undefined);
        }
      });
      const route = { schema: { hide: true }, bodyLimit: SMALL_BODY };
      scope.post(BACKUPX_HEARTBEAT_PATH, route, (req) => this.heartbeat(req));
      scope.post(BACKUPX_POLL_PATH, route, (req) => this.poll(req));
      scope.post(BACKUPX_RESULT_PATH, { ...route, bodyLimit: RESULT_BODY }, (req) => this.result(req));
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const d of this.devices.values()) d.end();
    this.devices.clear();
  }

  private async heartbeat(req: FastifyRequest): Promise<ReturnType<typeof ok<BackupXHeartbeatAnswer>>> {
    const hb = checkHeartbeat.parse(req.body ?? {}, 'heartbeat');
    const inventory = inventoryFromHeartbeat(hb, req.ip);
    const node = await this.opts.nodes.resolve(tokenOf(req, hb.token), { heartbeat: hb, source: req.ip, inventory });
    await this.device(node, inventory);
    // BackupX's heartbeat is its proof of life and carries no stats: the node's last-seen time
    // (what liveness reads) moves here, and its inventory when the agent's words changed.
    const text = JSON.stringify(inventory);
    const seen = await updateNodeRow(this.ctx.store.db, node.id, { last_seen_at: this.ctx.now(), ...(text !== node.inventory ? { inventory: text } : {}) });
    if (!seen) throw this.gone(node.id);
    return ok({ status: 'ok', nodeId: backupxIdOf(node.id), name: node.name, stewardNodeId: node.id });
  }

  private async poll(req: FastifyRequest): Promise<ReturnType<typeof ok<BackupXPollAnswer>>> {
    const node = await this.opts.nodes.resolve(tokenOf(req));
    const device = await this.device(node, storedInventory(node.inventory));
    for (;;) {
      const c = device.next();
      if (!c) return ok({ command: null });
      const ask = c.type === FS_LIST ? listDirAsk(c.payload) : undefined;
      if (!ask) {
        // Declared types only reach a node; this is a command queued before it said what it carries.
        device.finish(c.id, { state: 'failed', error: { code: 'unsupported_command', message: `a BackupX agent cannot run ${c.type} (${JSON.stringify(c.payload)})` } });
        continue;
      }
      const id = this.ledger(node.id).take(c.id, ask);
      return ok({ command: { id, type: LIST_DIR, payload: { path: ask.path } } });
    }
  }

  private async result(req: FastifyRequest): Promise<ReturnType<typeof ok<{ status: 'ok' }>>> {
    const id = checkId.parse(Number((req.params as { id: string }).id), 'command id');
    const body = checkResult.parse(req.body, 'command result');
    const node = await this.opts.nodes.resolve(tokenOf(req));
    const ledger = this.ledger(node.id);
    const taken = ledger.get(id);
    if (!taken) {
      // A repeated result (the agent retried): already stored once, nothing to change.
      if (ledger.wasFinished(id)) return ok({ status: 'ok' });
      throw new BackupXError('AGENT_COMMAND_NOT_FOUND', 404, `no command ${id} is running on this node`);
    }
    // Checked before anything moves: a malformed listing is refused and the command keeps waiting.
    const outcome = body.success
      ? { state: 'succeeded' as const, result: fsListResult(taken.ask, body.result) }
      : { state: 'failed' as const, error: listDirFailure(taken.ask, body.errorMessage) };
    const device = await this.device(node, storedInventory(node.inventory));
    device.finish(taken.commandId, outcome);
    ledger.finish(id);
    return ok({ status: 'ok' });
  }

  /** The node's connection on the link, opened (hello → welcome) when it has none; every request keeps it alive. */
  private async device(node: NodesTable, inventory: Inventory): Promise<ProxiedAgent> {
    if (this.stopped || !this.host) throw new BackupXError('SERVICE_UNAVAILABLE', 503, 'the control plane is shutting down');
    const open = this.devices.get(node.id);
    if (open?.isOpen) {
      open.touch();
      return open;
    }
    let opening = this.opening.get(node.id);
    if (!opening) {
      opening = this.connect(this.host, node.id, inventory).finally(() => this.opening.delete(node.id));
      this.opening.set(node.id, opening);
    }
    return opening;
  }

  private async connect(host: TransportHost, nodeId: string, inventory: Inventory): Promise<ProxiedAgent> {
    const device: ProxiedAgent = new ProxiedAgent({
      silenceMs: this.opts.silenceMs,
      onClose: () => {
        if (this.devices.get(nodeId) === device) this.devices.delete(nodeId);
      },
      onError: (code, message) => this.ctx.log.warn({ nodeId, code, message }, 'the link refused a message of a BackupX node'),
    });
    host.attach(nodeId, device);
    try {
      await device.hello(inventory);
    } catch {
      // The link refused the hello: the node was deleted in the meantime.
      throw this.gone(nodeId);
    }
    this.devices.set(nodeId, device);
    return device;
  }

  private ledger(nodeId: string): CommandLedger {
    let l = this.ledgers.get(nodeId);
    if (!l) this.ledgers.set(nodeId, (l = new CommandLedger()));
    return l;
  }

  private gone(nodeId: string): BackupXError {
    this.devices.get(nodeId)?.end();
    this.ledgers.delete(nodeId);
    return invalidToken('the node of this token no longer exists');
  }
}

/** BackupX agents send `X-Agent-Token`; `Authorization: Bearer` and the heartbeat's body token are older forms. */
function tokenOf(req: FastifyRequest, bodyToken?: string): string {
  const header = req.headers[BACKUPX_TOKEN_HEADER];
  const token = (typeof header === 'string' ? header.trim() : '') || bearerOf(req.headers.authorization) || bodyToken?.trim() || '';
  if (!token) throw invalidToken('missing X-Agent-Token');
  return token;
}
