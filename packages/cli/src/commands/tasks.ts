import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ValidationError } from '@steward/protocol/errors';
import { TASK_PRIORITIES, TASK_STATES, TASK_STRATEGIES, type TaskCreate, type TaskDetail, type TaskPriority, type TaskState, type TaskStrategy } from '@steward/protocol';
import { collectCap, collectLabel, durationOption, nonNegativeInt, positiveInt, selector, sizeMB } from '../args.js';
import { clientFor, withConnection } from '../connect.js';
import { EXIT_FAILURE } from '../errors.js';
import { onInterrupt } from '../interrupt.js';
import { ago, bytes, elapsed, table, timestamp } from '../format.js';
import { NodeNames } from '../node-names.js';
import { printJson, println } from '../output.js';

interface SubmitOpts {
  cpu?: number;
  mem?: number;
  disk?: number;
  label?: string[];
  selector?: string;
  cap?: string[];
  platform?: string;
  arch?: string;
  priority?: TaskPriority;
  strategy?: TaskStrategy;
  timeout?: number;
  retries?: number;
  retryDelay?: number;
  retryOnNodeLoss?: boolean;
  script?: string;
  interpreter?: string;
  requestId?: string;
  wait?: boolean;
  json?: boolean;
  cancelOnInterrupt?: boolean;
}

/** The request body `tasks submit` sends; exported for tests. */
export function taskCreateFrom(argv: readonly string[], o: SubmitOpts, readScript: (path: string) => string = (p) => readFileSync(p, 'utf8')): TaskCreate {
  let kind: TaskCreate['kind'];
  let payload: Record<string, unknown>;
  if (o.script !== undefined) {
    if (!o.interpreter) throw new ValidationError('--script needs --interpreter (python3, node, bash, …)', [{ field: '--interpreter', rule: 'required with --script' }]);
    let script: string;
    try {
      script = readScript(o.script);
    } catch (e) {
      throw new ValidationError(`--script ${o.script}: ${(e as Error).message}`, [{ field: '--script', rule: 'readable file' }]);
    }
    kind = 'script';
    payload = { interpreter: o.interpreter, script, ...(argv.length ? { args: [...argv] } : {}) };
  } else {
    if (argv.length === 0 || argv[0] === '') {
      throw new ValidationError('give the command after --, e.g. steward tasks submit -- python3 job.py, or --script FILE --interpreter python3', [
        { field: 'command', rule: 'required' },
      ]);
    }
    kind = 'exec';
    payload = { command: argv[0], args: argv.slice(1) };
  }
  const labelSel = o.label?.length ? o.label.join(',') : undefined;
  const sel = [labelSel, o.selector].filter(Boolean).join(',') || undefined;
  const requirements: TaskCreate['requirements'] = {
    ...(o.cpu !== undefined ? { cpuCores: o.cpu } : {}),
    ...(o.mem !== undefined ? { memoryMB: o.mem } : {}),
    ...(o.disk !== undefined ? { diskMB: o.disk } : {}),
    ...(o.platform ? { platform: o.platform } : {}),
    ...(o.arch ? { arch: o.arch } : {}),
    ...(sel ? { selector: sel } : {}),
    ...(o.cap?.length ? { capabilities: o.cap } : {}),
  };
  return {
    kind,
    payload,
    ...(Object.keys(requirements).length ? { requirements } : {}),
    ...(o.priority ? { priority: o.priority } : {}),
    ...(o.strategy ? { strategy: o.strategy } : {}),
    ...(o.timeout !== undefined ? { timeoutMs: o.timeout } : {}),
    ...(o.retries !== undefined ? { maxRetries: o.retries } : {}),
    ...(o.retryDelay !== undefined ? { retryDelayMs: o.retryDelay } : {}),
    ...(o.retryOnNodeLoss === false ? { retryOnNodeLoss: false } : {}),
    ...(o.requestId ? { requestId: o.requestId } : {}),
  };
}

function resources(a: { cpuMs: number | null; peakMemoryBytes: number | null }): string {
  return `cpu ${a.cpuMs === null ? '-' : `${a.cpuMs}ms`}, peak mem ${bytes(a.peakMemoryBytes)}`;
}

async function printTask(t: TaskDetail, names: NodeNames): Promise<void> {
  println(`id:        ${t.id}`);
  println(`kind:      ${t.kind}`);
  println(`payload:   ${JSON.stringify(t.payload)}`);
  println(`requires:  ${Object.keys(t.requirements).length ? JSON.stringify(t.requirements) : '-'}`);
  println(`priority:  ${t.priority}${t.strategy ? `, strategy ${t.strategy}` : ''}`);
  println(`state:     ${t.state}${t.progress !== null ? ` (${t.progress}%)` : ''}`);
  if (t.reason) println(`reason:    ${t.reason}`);
  if (t.nodeId) println(`node:      ${await names.name(t.nodeId)}`);
  println(`exit code: ${t.exitCode ?? '-'}`);
  if (t.error) println(`error:     ${t.error.code}: ${t.error.message}`);
  println(`retries:   ${t.maxRetries} (backoff from ${t.retryDelayMs}ms)${t.retryOnNodeLoss ? '' : ', not after node loss'}`);
  println(`created:   ${timestamp(t.createdAt)}`);
  println(`started:   ${timestamp(t.startedAt)}`);
  println(`finished:  ${timestamp(t.finishedAt)}`);
  if (t.attemptList.length === 0) return;
  const rows: string[][] = [];
  for (const a of t.attemptList) {
    rows.push([
      String(a.number),
      await names.name(a.nodeId),
      a.state,
      a.exitCode === null ? (a.signal ?? '-') : String(a.exitCode),
      elapsed(a.startedAt ?? a.placedAt, a.finishedAt),
      resources(a),
      a.error ? `${a.error.code}: ${a.error.message}` : '',
    ]);
  }
  println('');
  println(table(['#', 'NODE', 'STATE', 'EXIT', 'TOOK', 'USAGE', 'ERROR'], rows));
}

/** Prints a task's output as it comes; returns the task's final state (or null without -f before the end). */
async function followOutput(cmd: Command, id: string, follow: boolean): Promise<string | null> {
  const client = clientFor(cmd);
  let attempt = 0;
  for await (const e of client.taskOutput(id, { follow })) {
    if (e.kind === 'output') {
      if (e.chunk.attempt !== attempt) {
        if (attempt !== 0) process.stderr.write(`--- attempt ${e.chunk.attempt} ---\n`);
        attempt = e.chunk.attempt;
      }
      (e.chunk.stream === 'stderr' ? process.stderr : process.stdout).write(e.chunk.data);
    } else if (e.kind === 'end') {
      return e.state.state;
    }
  }
  return null;
}

export function registerTasks(program: Command): void {
  const tasks = program.command('tasks').description('compute tasks placed by the scheduler on nodes that meet their requirements');

  withConnection(
    tasks
      .command('submit')
      .description('queue a task: a program (after --) or a script file run by an interpreter')
      .usage('[options] -- CMD [ARGS…]  |  --script FILE --interpreter python3 [-- ARGS…]')
      .option('--cpu <n>', 'the node has at least N CPU cores', positiveInt)
      .option('--mem <size>', 'the node has at least this much memory (512M, 1G…)', sizeMB)
      .option('--disk <size>', 'the node has at least this much free disk', sizeMB)
      .option('--label <k=v>', 'the node has this label (repeatable)', collectLabel)
      .option('--selector <sel>', 'the node matches this label selector', selector)
      .option('--cap <name>', 'the node offers this capability (repeatable: python3, gpu, …)', collectCap)
      .option('--platform <p>', 'linux, darwin, android, …')
      .option('--arch <a>', 'x64, arm64, arm, …')
      .addOption(new Option('--priority <p>', 'queue priority').choices([...TASK_PRIORITIES]))
      .addOption(new Option('--strategy <s>', 'placement strategy for this task').choices([...TASK_STRATEGIES]))
      .addOption(durationOption('--timeout <duration>', 'run time limit per attempt; default 10m'))
      .option('--retries <n>', 'tries again after a failure, up to N times', nonNegativeInt)
      .addOption(durationOption('--retry-delay <duration>', 'first backoff between tries; doubles each time'))
      .option('--no-retry-on-node-loss', 'fail instead of running again elsewhere when the node is lost')
      .option('--script <file>', 'run this script file')
      .option('--interpreter <name>', 'the program that runs --script (python3, node, bash, …)')
      .option('--request-id <id>', 'idempotency key: the same id returns the same task')
      .option('--wait', 'follow the output until the task ends; exit with its outcome')
      .option('--cancel-on-interrupt', 'with --wait: Ctrl-C cancels the task at once (default: the first Ctrl-C only leaves it running)')
      .option('--json', 'print the task as JSON')
      .argument('[command...]', 'command and arguments (after --)')
      .passThroughOptions(),
  ).action(async (argv: string[], opts: SubmitOpts, cmd: Command) => {
    const client = clientFor(cmd);
    const { task, created } = await client.submitTask(taskCreateFrom(argv, opts));
    if (opts.json && !opts.wait) return printJson(task);
    if (!opts.json) println(`${task.id} ${created ? 'queued' : 'already submitted with this request id'} (${task.state})`);
    if (!opts.wait) return;
    const release = onInterrupt(
      { what: `task ${task.id}`, cancelCommand: `steward tasks cancel ${task.id}`, cancel: () => client.cancelTask(task.id) },
      opts.cancelOnInterrupt,
    );
    let state: string | null;
    try {
      state = await followOutput(cmd, task.id, true);
    } finally {
      release();
    }
    const done = await client.getTask(task.id);
    if (opts.json) printJson(done);
    else println(`${done.id}: ${done.state}${done.exitCode !== null ? ` (exit ${done.exitCode})` : ''}${done.error ? ` ${done.error.code}: ${done.error.message}` : ''}`);
    // An interrupted wait keeps its 130.
    if (state !== 'succeeded') process.exitCode ??= EXIT_FAILURE;
  });

  withConnection(
    tasks
      .command('ls')
      .description('list tasks, newest first')
      .addOption(new Option('--state <state>', 'only tasks in this state').choices([...TASK_STATES]))
      .addOption(new Option('--priority <p>', 'only tasks of this priority').choices([...TASK_PRIORITIES]))
      .option('--node <node>', 'only tasks on this node (id or name)')
      .option('--limit <n>', 'at most this many', positiveInt)
      .option('--json', 'print JSON'),
  ).action(async (opts: { state?: TaskState; priority?: TaskPriority; node?: string; limit?: number; json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const { items } = await client.listTasks({ state: opts.state, priority: opts.priority, node: opts.node, limit: opts.limit });
    if (opts.json) return printJson(items);
    if (items.length === 0) return println('no tasks');
    const names = new NodeNames(client);
    const rows: string[][] = [];
    for (const t of items) {
      const what = t.kind === 'exec' ? String((t.payload as { command?: string }).command ?? '') : `${(t.payload as { interpreter?: string }).interpreter} script`;
      rows.push([
        t.id,
        t.state + (t.progress !== null && t.state === 'running' ? ` ${t.progress}%` : ''),
        t.priority,
        t.nodeId ? await names.name(t.nodeId) : '-',
        String(t.attempts),
        t.exitCode === null ? '-' : String(t.exitCode),
        ago(t.createdAt),
        what.slice(0, 40),
        t.state === 'queued' ? (t.reason ?? '') : t.error ? `${t.error.code}: ${t.error.message}`.slice(0, 60) : '',
      ]);
    }
    println(table(['ID', 'STATE', 'PRIORITY', 'NODE', 'TRIES', 'EXIT', 'CREATED', 'WHAT', 'REASON'], rows));
  });

  withConnection(
    tasks.command('show').description('show a task, its attempts, timings and resource use').argument('<id>', 'task id').option('--json', 'print JSON'),
  ).action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const t = await client.getTask(id);
    if (opts.json) return printJson(t);
    await printTask(t, new NodeNames(client));
  });

  withConnection(
    tasks
      .command('logs')
      .description("print a task's output (stdout to stdout, stderr to stderr)")
      .argument('<id>', 'task id')
      .option('-f, --follow', 'keep printing as output arrives, until the task ends'),
  ).action(async (id: string, opts: { follow?: boolean }, cmd: Command) => {
    const state = await followOutput(cmd, id, Boolean(opts.follow));
    if (opts.follow && state !== 'succeeded') process.exitCode = EXIT_FAILURE;
  });

  withConnection(tasks.command('cancel').description('cancel a task; a running attempt is stopped (SIGTERM, then SIGKILL)').argument('<id>', 'task id')).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      const t = await clientFor(cmd).cancelTask(id);
      println(`${t.id}: ${t.state}`);
    },
  );

  const sched = tasks.command('scheduler').description('the scheduler: who leads, queue depth, pause and resume');
  withConnection(sched.command('status').description('show the scheduler state').option('--json', 'print JSON')).action(
    async (opts: { json?: boolean }, cmd: Command) => {
      const s = await clientFor(cmd).schedulerState();
      if (opts.json) return printJson(s);
      println(`paused: ${s.paused}\nleader: ${s.leader ?? '-'}\nqueued: ${s.queued}\nactive: ${s.active}`);
    },
  );
  for (const [verb, paused] of [['pause', true], ['resume', false]] as const) {
    withConnection(sched.command(verb).description(`${verb} placing tasks (running ones are not touched)`)).action(async (_o: unknown, cmd: Command) => {
      const s = await clientFor(cmd).setSchedulerPaused(paused);
      println(`scheduler ${s.paused ? 'paused' : 'running'}; ${s.queued} queued, ${s.active} active`);
    });
  }
}
