import { ConflictError, DEFAULT_SHELL_TIMEOUT_MS, NotFoundError, type Command, type ShellOpen } from '@steward/protocol';
import type { AgentLink } from '../agents/link.js';
import type { Requester } from '../commands/approval-policies.js';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import { getCommandRow } from '../store/queries/commands.js';

export const SHELL_SESSION = 'shell.session';
/**
 * A session nobody could start soon is of no use: the operator waits at the terminal. It may
 * wait this long for an offline node (after an approval, from the approval on).
 */
const SHELL_TTL_MS = 5 * 60_000;

/**
 * Interactive terminals: a session is a `shell.session` command (so signing, the journal,
 * approvals and audit apply as to any command); input and resizes go to the node while it runs.
 */
export class ShellService {
  constructor(
    private readonly ctx: Context,
    private readonly commands: Pick<CommandService, 'submit'>,
    private readonly link: Pick<AgentLink, 'sessionInput' | 'sessionResize'>,
  ) {}

  /** Creates the session's command; it may be held `awaiting_approval` by a policy. */
  async open(node: string, body: ShellOpen, requester: Requester | undefined): Promise<Command> {
    const { timeoutMs, ...payload } = body;
    const { command } = await this.commands.submit(
      { node, type: SHELL_SESSION, payload, timeoutMs: timeoutMs ?? DEFAULT_SHELL_TIMEOUT_MS, ttlMs: SHELL_TTL_MS },
      requester,
    );
    return command;
  }

  async input(commandId: string, seq: number, data: string): Promise<void> {
    const nodeId = await this.runningSession(commandId);
    this.link.sessionInput(nodeId, commandId, seq, data);
  }

  async resize(commandId: string, cols: number, rows: number): Promise<void> {
    const nodeId = await this.runningSession(commandId);
    this.link.sessionResize(nodeId, commandId, cols, rows);
  }

  /** The node of a running session; 404 for no such command, 409 for anything else. */
  private async runningSession(commandId: string): Promise<string> {
    const row = await getCommandRow(this.ctx.store.db, commandId);
    if (!row) throw new NotFoundError('command', commandId);
    if (row.type !== SHELL_SESSION || row.state !== 'running') {
      throw new ConflictError(
        'session_not_running',
        row.type === SHELL_SESSION
          ? `session ${commandId} is not running (${row.state})`
          : `command ${commandId} is a ${row.type}, not an interactive session`,
        { state: row.state, type: row.type },
      );
    }
    return row.node_id;
  }
}
