import type { Command } from 'commander';
import { ApiError } from '@steward/client';
import { ValidationError, type JobCreate, type JobTarget } from '@steward/protocol';
import { collectList, durationOption, positiveInt, selector } from '../args.js';
import { clientFor, withConnection } from '../connect.js';
import { EXIT_FAILURE } from '../errors.js';
import { onInterrupt } from '../interrupt.js';
import { NodeNames } from '../node-names.js';
import { eprintln, printJson, println } from '../output.js';
import { ProgressBar } from '../progress.js';
import { runJob } from '../run/job-watcher.js';
import { awaitingApprovalNote } from './audit.js';
import { resultHeader, runResult, summaryLine, withNewline, type RunResult } from '../run/result-view.js';

interface RunOpts {
  node?: string[];
  selector?: string;
  all?: boolean;
  timeout: number;
  batch?: number;
  shell?: boolean;
  json?: boolean;
  cancelOnInterrupt?: boolean;
}

/** Extra time past the command timeout for delivery and the result's way back. */
const GRACE_MS = 5000;

export function targetOf(opts: Pick<RunOpts, 'node' | 'selector' | 'all'>): JobTarget {
  const given = [opts.node?.length ? '--node' : '', opts.selector ? '--selector' : '', opts.all ? '--all' : ''].filter(Boolean);
  if (given.length !== 1) {
    throw new ValidationError(
      given.length === 0
        ? 'choose the nodes: --node N (repeatable), --selector SEL or --all'
        : `choose one of ${given.join(', ')}`,
      [{ field: 'target', rule: 'exactly one of --node, --selector, --all' }],
    );
  }
  if (opts.node?.length) return { nodes: opts.node };
  if (opts.selector) return { selector: opts.selector };
  return { all: true };
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
      .description('run a command on nodes (exec.run through a job) and print each result')
      .usage('(--node N … | --selector SEL | --all) [options] -- CMD [ARGS…]')
      .option('--node <node>', 'node id or name (repeatable, or comma-separated)', collectList)
      .option('--selector <sel>', 'nodes matching a label selector', selector)
      .option('--all', 'every node')
      .addOption(durationOption('--timeout <duration>', 'per-node run timeout, and roughly how long to wait', 30_000))
      .option('--batch <n>', 'at most this many nodes at a time', positiveInt)
      .option('--shell', 'run the words joined as one shell command line')
      .option('--json', 'print one JSON document with every result')
      .option('--cancel-on-interrupt', 'Ctrl-C cancels the job at once (default: the first Ctrl-C only leaves it running)')
      .argument('<command...>', 'command and arguments (after --)')
      .passThroughOptions()
      .addHelpText(
        'after',
        `
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
    let outcome: Awaited<ReturnType<typeof runJob>>;
    let release = () => {};
    // Several nodes: a bar of nodes done on a terminal, cleared before each node's output.
    let bar: ProgressBar | undefined;
    let ended = 0;
    try {
      outcome = await runJob(client, create, {
        onCreated: (j) => {
          const awaiting = j.counts.awaiting_approval ?? 0;
          if (awaiting > 0) eprintln(awaitingApprovalNote(j.id, awaiting));
          if (j.total > 1 && !opts.json) bar = new ProgressBar('nodes done', j.total, 'count');
          bar?.set(0);
          release = onInterrupt(
            { what: `job ${j.id}`, cancelCommand: `steward jobs cancel ${j.id}`, cancel: () => client.cancelJob(j.id) },
            opts.cancelOnInterrupt,
          );
        },
        waitMs: (j) => opts.timeout * Math.max(1, Math.ceil(j.total / (opts.batch ?? Math.max(1, j.total)))) + GRACE_MS,
        onResult: async (c) => {
          if (opts.json) return;
          const node = await names.name(c.nodeId);
          bar?.clear();
          println(resultHeader(c, node));
          const v = runResult(c, node);
          process.stdout.write(withNewline(v.stdout));
          process.stderr.write(withNewline(v.stderr));
          bar?.set(++ended);
        },
      });
    } catch (e) {
      if (!isNoMatch(e)) throw e;
      if (opts.json) printJson({ job: null, results: [], error: 'no nodes matched' });
      eprintln(`error: no nodes matched ${describeTarget(create.target)}`);
      process.exitCode = EXIT_FAILURE;
      return;
    } finally {
      bar?.clear();
      release();
    }
    const { job, finished } = outcome;

    const results: RunResult[] = [];
    for (const c of job.commands) results.push(runResult(c, await names.name(c.nodeId)));
    const { commands: _commands, ...jobOnly } = job;
    const ok = job.total > 0 && finished && results.length === job.total && results.every((r) => r.state === 'succeeded');
    if (opts.json) {
      printJson({ job: jobOnly, results, ...(job.total === 0 ? { error: 'no nodes matched' } : {}) });
    } else if (job.total > 0) {
      for (const r of results.filter((r) => !['succeeded', 'failed', 'timed_out', 'cancelled', 'expired'].includes(r.state))) {
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
