import type { Command } from 'commander';
import { ApiError } from '@steward/client';
import { ValidationError } from '@steward/protocol/errors';
import { isTerminalCommandState } from '@steward/protocol/states';
import type { JobCreate, JobDetail, JobTarget } from '@steward/protocol';
import { collectList, durationOption, nodeTarget, positiveInt, selector } from '../args.js';
import { clientFor, withConnection } from '../connect.js';
import { EXIT_FAILURE } from '../errors.js';
import { onInterrupt } from '../interrupt.js';
import { NodeNames } from '../node-names.js';
import { eprintln, println } from '../output.js';
import { followRun } from '../run/job-output.js';
import type { WatchOutcome } from '../run/job-watcher.js';
import type { RunPrinter } from '../run/printer.js';
import { makePrinter, processTerminal } from '../run/printers.js';
import { runResult, summaryLine, type RunResult } from '../run/result-view.js';
import { awaitingApprovalNote } from './audit.js';

interface RunOpts {
  node?: string[];
  selector?: string;
  all?: boolean;
  timeout: number;
  batch?: number;
  shell?: boolean;
  json?: boolean;
  group?: boolean;
  cancelOnInterrupt?: boolean;
}

/** Extra time past the command timeout for delivery and the result's way back. */
const GRACE_MS = 5000;

export function targetOf(opts: Pick<RunOpts, 'node' | 'selector' | 'all'>): JobTarget {
  return nodeTarget({ nodes: opts.node, selector: opts.selector, all: opts.all }, { name: '--node', usage: '--node N (repeatable)' });
}

/** The server refuses a job whose target matches nothing; for `run` that is an outcome, not a usage error. */
function isNoMatch(e: unknown): boolean {
  return e instanceof ApiError && e.code === 'validation_failed' && e.issues.some((i) => i.field === 'target');
}

function describeTarget(t: JobTarget): string {
  if ('nodes' in t) return `(nodes ${t.nodes.join(', ')})`;
  if ('selector' in t) return `(selector ${t.selector})`;
  return '(all nodes: there are none)';
}

/**
 * What `steward run` exits with: on one node, that node's own exit code (1 when it has none:
 * timed out, cancelled, never ran); on several, 0 when every node succeeded, else 1.
 */
export function runExitCode(ok: boolean, results: readonly RunResult[]): number {
  if (results.length === 1 && results[0]!.exitCode !== null) return results[0]!.exitCode;
  return ok ? 0 : EXIT_FAILURE;
}

export function execPayload(argv: readonly string[], shell: boolean): Record<string, unknown> {
  if (argv.length === 0 || argv[0] === '') {
    throw new ValidationError('give the command to run after --, e.g. steward run --all -- uptime', [
      { field: 'command', rule: 'required' },
    ]);
  }
  return shell ? { command: argv.join(' '), shell: true } : { command: argv[0], args: argv.slice(1) };
}

export function registerRun(program: Command): void {
  withConnection(
    program
      .command('run')
      .description('run a command on nodes (exec.run through a job) and print its output as it comes')
      .usage('(--node N … | --selector SEL | --all) [options] -- CMD [ARGS…]')
      .option('--node <node>', 'node id or name (repeatable, or comma-separated)', collectList)
      .option('--selector <sel>', 'nodes matching a label selector', selector)
      .option('--all', 'every node')
      .addOption(durationOption('--timeout <duration>', 'per-node run timeout, and roughly how long to wait', 30_000))
      .option('--batch <n>', 'at most this many nodes at a time', positiveInt)
      .option('--shell', 'run the words joined as one shell command line')
      .option('--group', "print each node's output as one block when that node ends (like dshbak)")
      .option('--json', 'print JSON lines as things happen: each output line, each node end, then a summary')
      .option('--cancel-on-interrupt', 'Ctrl-C cancels the job at once (default: the first Ctrl-C only leaves it running)')
      .argument('<command...>', 'command and arguments (after --)')
      .passThroughOptions()
      .addHelpText(
        'after',
        `
Output: each line as it comes, "name | line" for stdout and "name ! line" (on stderr) for
stderr, names aligned, then "[name] state exit=N" when a node ends; on one node the output
passes through unprefixed, as ssh shows it. On a terminal each node has its colour (none
with NO_COLOR) and stderr keeps a live "n/N done" line. --group: one block per node when it
ends; --json: one JSON object per line (output, end, and a final done with every result).

Exit status: on one node, that node's exit code (as ssh gives it), or 1 when it has none
(timed out, cancelled, never ran). On several nodes: 0 when every node succeeded, else 1.
2 for a usage error, 130 after Ctrl-C.

Ctrl-C leaves the job running and says how to cancel it; a second Ctrl-C within 3s (or the
first, with --cancel-on-interrupt) cancels it and waits for the nodes to stop.`,
      ),
  ).action(async (argv: string[], opts: RunOpts, cmd: Command) => {
    const create: JobCreate = {
      target: targetOf(opts),
      type: 'exec.run',
      payload: execPayload(argv, Boolean(opts.shell)),
      timeoutMs: opts.timeout,
      ...(opts.batch ? { batchSize: opts.batch } : {}),
    };
    const client = clientFor(cmd);
    const names = new NodeNames(client);
    const started = Date.now();
    let created: JobDetail;
    try {
      created = await client.createJob(create);
    } catch (e) {
      if (!isNoMatch(e)) throw e;
      if (opts.json) println(JSON.stringify({ event: 'done', job: null, results: [], error: 'no nodes matched' }));
      eprintln(`error: no nodes matched ${describeTarget(create.target)}`);
      process.exitCode = EXIT_FAILURE;
      return;
    }
    const awaiting = created.counts.awaiting_approval ?? 0;
    if (awaiting > 0) eprintln(awaitingApprovalNote(created.id, awaiting));
    let printer: RunPrinter | undefined;
    const release = onInterrupt(
      {
        what: `job ${created.id}`,
        cancelCommand: `steward jobs cancel ${created.id}`,
        cancel: () => client.cancelJob(created.id),
        beforeMessage: () => printer?.clearStatus(),
      },
      opts.cancelOnInterrupt,
    );
    const nodeNames = new Map<string, string>();
    // The create answer holds the first page only; a bigger job's other nodes are read from the job.
    const everyNode = created.next ? (await client.getJob(created.id)).commands : created.commands;
    for (const c of everyNode) nodeNames.set(c.nodeId, await names.name(c.nodeId));
    printer = makePrinter({
      format: opts.json ? 'json' : opts.group ? 'group' : 'lines',
      term: processTerminal(),
      nameOf: (id) => nodeNames.get(id) ?? id,
      names: [...nodeNames.values()],
      total: created.total,
    });
    // Leaving after a Ctrl-C: what is held is printed and the status line erased.
    const shown = printer;
    const leave = () => shown.finish();
    process.once('exit', leave);
    const batches = Math.max(1, Math.ceil(created.total / (opts.batch ?? Math.max(1, created.total))));
    let outcome: WatchOutcome;
    try {
      outcome = await followRun(client, created, shown, started + opts.timeout * batches + GRACE_MS);
    } finally {
      process.off('exit', leave);
      shown.finish();
      release();
    }
    const { job, finished } = outcome;

    const results: RunResult[] = [];
    for (const c of job.commands) results.push(runResult(c, await names.name(c.nodeId)));
    const { commands: _commands, ...jobOnly } = job;
    const ok = job.total > 0 && finished && results.length === job.total && results.every((r) => r.state === 'succeeded');
    if (opts.json) {
      println(JSON.stringify({ event: 'done', job: jobOnly, results, ...(job.total === 0 ? { error: 'no nodes matched' } : {}) }));
    } else if (job.total > 0) {
      for (const r of results.filter((r) => !isTerminalCommandState(r.state))) {
        const still = r.state === 'awaiting_approval' ? 'awaiting approval by a second operator' : r.state;
        println(`[${r.node}] still ${still}; gave up waiting (see: steward commands show ${r.commandId})`);
      }
      println(summaryLine(job, results.map((r) => r.state), Date.now() - started));
    }
    if (job.total === 0) eprintln(`error: no nodes matched (job ${job.id})`);
    // An interrupted run keeps its 130; otherwise one node's exit code, as ssh gives it.
    process.exitCode ??= runExitCode(ok, results);
  });
}
