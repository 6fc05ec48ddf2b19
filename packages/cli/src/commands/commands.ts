import { Option, type Command } from 'commander';
import { ValidationError } from '@steward/protocol/errors';
import { isTerminalCommandState } from '@steward/protocol/states';
import type { CommandState } from '@steward/protocol';
import { COMMAND_STATE_CHOICES, commandType, durationOption, jsonObject, positiveInt, waitSeconds } from '../args.js';
import { describeCommand } from '../command-view.js';
import { clientFor, withConnection } from '../connect.js';
import { EXIT_FAILURE } from '../errors.js';
import { ago, elapsed, table } from '../format.js';
import { NodeNames } from '../node-names.js';
import { eprintln, printJson, println } from '../output.js';
import { readPayloadFile } from '../payload-file.js';
import { awaitingApprovalNote } from './audit.js';

export function registerCommands(program: Command): void {
  const commands = program.command('commands').description('submit, inspect and cancel single-node commands');

  withConnection(
    commands
      .command('ls')
      .description('list commands, newest first')
      .option('--node <node>', 'only this node (id or name)')
      .addOption(new Option('--state <state>', 'only commands in this state').choices(COMMAND_STATE_CHOICES))
      .option('--type <type>', 'only this command type', commandType)
      .option('--job <id>', 'only commands of this job')
      .option('--limit <n>', 'at most this many', positiveInt)
      .option('--json', 'print JSON'),
  ).action(
    async (
      opts: { node?: string; state?: CommandState; type?: string; job?: string; limit?: number; json?: boolean },
      cmd: Command,
    ) => {
      const client = clientFor(cmd);
      const { items } = await client.listCommands({
        node: opts.node,
        state: opts.state,
        type: opts.type,
        job: opts.job,
        limit: opts.limit,
      });
      if (opts.json) return printJson(items);
      if (items.length === 0) return println('no commands');
      const names = new NodeNames(client);
      const rows: string[][] = [];
      for (const c of items) {
        rows.push([
          c.id,
          await names.name(c.nodeId),
          c.type,
          c.state,
          c.jobId ?? '-',
          ago(c.createdAt),
          elapsed(c.startedAt ?? c.dispatchedAt, c.finishedAt),
        ]);
      }
      println(table(['ID', 'NODE', 'TYPE', 'STATE', 'JOB', 'CREATED', 'TOOK'], rows));
    },
  );

  withConnection(
    commands
      .command('show')
      .description('show one command and its result')
      .argument('<id>', 'command id')
      .option('--wait <duration>', 'wait up to this long for it to end (30s, 2m; a bare number is seconds; max 300s)', waitSeconds)
      .option('--json', 'print JSON'),
  ).action(async (id: string, opts: { wait?: number; json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const c = await client.getCommand(id, { wait: opts.wait });
    if (opts.json) return printJson(c);
    println(describeCommand(c, await new NodeNames(client).name(c.nodeId)));
  });

  withConnection(
    commands
      .command('submit')
      .description('send one command to one node')
      .requiredOption('--node <node>', 'node id or name')
      .requiredOption('--type <type>', 'command type, e.g. exec.run, fs.mkdir', commandType)
      .option('--payload <json>', 'payload as a JSON object', jsonObject)
      .option('--payload-file <path>', 'payload from a YAML or JSON file, - for stdin (keeps secrets off the command line)')
      .option('--request-id <id>', 'idempotency key: the same id returns the first command')
      .addOption(durationOption('--timeout <duration>', 'run timeout'))
      .addOption(durationOption('--ttl <duration>', 'how long it may wait for an offline node'))
      .option('--wait <duration>', 'wait up to this long for it to end (30s, 2m; a bare number is seconds; max 300s); exit 1 if it has not', waitSeconds)
      .option('--json', 'print JSON'),
  ).action(
    async (
      opts: {
        node: string;
        type: string;
        payload?: Record<string, unknown>;
        payloadFile?: string;
        requestId?: string;
        timeout?: number;
        ttl?: number;
        wait?: number;
        json?: boolean;
      },
      cmd: Command,
    ) => {
      if (opts.payload && opts.payloadFile !== undefined) {
        throw new ValidationError('give --payload or --payload-file, not both', [{ field: 'payload', rule: 'one of --payload, --payload-file' }]);
      }
      const payload = opts.payloadFile !== undefined ? readPayloadFile(opts.payloadFile) : (opts.payload ?? {});
      const client = clientFor(cmd);
      const submitted = await client.submitCommand({
        node: opts.node,
        type: opts.type,
        payload,
        ...(opts.requestId !== undefined ? { requestId: opts.requestId } : {}),
        ...(opts.timeout !== undefined ? { timeoutMs: opts.timeout } : {}),
        ...(opts.ttl !== undefined ? { ttlMs: opts.ttl } : {}),
      });
      let c = submitted.command;
      if (c.state === 'awaiting_approval' && !opts.json) eprintln(awaitingApprovalNote(c.id));
      if (opts.wait !== undefined && !isTerminalCommandState(c.state)) {
        c = await client.getCommand(c.id, { wait: opts.wait });
      }
      if (opts.json) printJson(c);
      else if (opts.wait === undefined) {
        println(submitted.created ? `submitted ${c.id} (${c.state})` : `already submitted as ${c.id} (${c.state}); same request id`);
      } else {
        if (!submitted.created) println(`already submitted as ${c.id}; same request id`);
        println(describeCommand(c, await new NodeNames(client).name(c.nodeId)));
      }
      if (opts.wait !== undefined && c.state !== 'succeeded') {
        // Waiting ran out, the command did not: that is not a success, and must not read as one.
        if (!isTerminalCommandState(c.state)) {
          eprintln(`${c.id} is still ${c.state} after waiting ${opts.wait}s; it goes on running (steward commands show ${c.id} --wait 60s, or steward commands cancel ${c.id})`);
        }
        process.exitCode = EXIT_FAILURE;
      }
    },
  );

  withConnection(commands.command('cancel').description('cancel a command').argument('<id>', 'command id')).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      const c = await clientFor(cmd).cancelCommand(id);
      println(`${c.id}: ${c.state}`);
    },
  );
}
