import { InvalidArgumentError, type Command } from 'commander';
import type { StewardClient } from '@steward/client';
import { ValidationError } from '@steward/protocol/errors';
import type { BackupDestination, BackupRun, Command as StewardCommand } from '@steward/protocol';
import { collectList, durationOption, positiveInt, selector } from '../args.js';
import { followProgress } from '../command-progress.js';
import { clientFor, withConnection } from '../connect.js';
import { EXIT_FAILURE } from '../errors.js';
import { ago, bytes, table, timestamp } from '../format.js';
import { NodeNames } from '../node-names.js';
import { eprintln, printJson, println } from '../output.js';

function destination(value: string): BackupDestination {
  if (value !== 'node' && value !== 'control-plane') throw new InvalidArgumentError('must be node or control-plane');
  return value;
}

/** Holds until the command ends (the server holds each request up to 300 s). */
async function waitCommand(client: StewardClient, id: string, timeoutMs: number): Promise<StewardCommand> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const c = await client.getCommand(id, { wait: Math.max(1, Math.min(300, Math.ceil((end - Date.now()) / 1000))) });
    if (!['pending', 'dispatched', 'running'].includes(c.state) || Date.now() >= end) return c;
  }
}

/** Submits one command and waits for its end, with a progress bar on a terminal meanwhile. */
async function withProgress(client: StewardClient, json: boolean | undefined, submit: (c: StewardClient) => Promise<StewardCommand>, timeoutMs: number): Promise<StewardCommand> {
  const progress = await followProgress(client, new NodeNames(client), !json);
  try {
    const command = await submit(client);
    progress.target.commandId = command.id;
    return await waitCommand(client, command.id, timeoutMs);
  } finally {
    progress.stop();
  }
}

function finish(c: StewardCommand, json: boolean | undefined, describe: (result: any) => string): void {
  if (json) printJson(c);
  else if (c.state === 'succeeded') println(describe(c.result));
  if (c.state !== 'succeeded') {
    if (!json) eprintln(`error: ${c.type} ${c.state}${c.error ? `: ${c.error.message}` : ''}`);
    process.exitCode = EXIT_FAILURE;
  }
}

export function registerBackups(program: Command): void {
  const backups = program.command('backups').description('directory backups (tar.gz + SHA-256 manifest), restores and schedules');

  withConnection(
    backups
      .command('ls')
      .description('list recorded backups, newest first')
      .option('--node <node>', 'only this node')
      .option('--schedule <id>', 'only made by this schedule')
      .option('--to <destination>', 'only kept on node or control-plane', destination)
      .option('--limit <n>', 'at most this many', positiveInt)
      .option('--json', 'print JSON'),
  ).action(async (opts: { node?: string; schedule?: string; to?: BackupDestination; limit?: number; json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const { items } = await client.listBackups({ node: opts.node, schedule: opts.schedule, destination: opts.to, limit: opts.limit });
    if (opts.json) return printJson(items);
    const now = Date.now();
    const names = new NodeNames(client);
    const rows: string[][] = [];
    for (const b of items) rows.push([b.id, await names.name(b.nodeId), b.source, b.destination, String(b.fileCount), bytes(b.archiveSize), ago(b.createdAt, now)]);
    println(table(['ID', 'NODE', 'SOURCE', 'KEPT ON', 'FILES', 'SIZE', 'CREATED'], rows));
  });

  withConnection(
    backups
      .command('run')
      .description('back up a directory now, on one node or every node of a selector')
      .option('--node <node>', 'node id or name')
      .option('--selector <sel>', 'label selector (a job)', selector)
      .requiredOption('--source <path>', 'absolute directory on the node')
      .option('--exclude <pattern>', 'glob to leave out (repeatable)', collectList, [])
      .option('--to <destination>', 'node or control-plane', destination, 'control-plane' as BackupDestination)
      .addOption(durationOption('--timeout <duration>', 'how long the backup may take', 600_000))
      .option('--no-wait', 'print the command or job and return')
      .option('--json', 'print JSON'),
  ).action(async (opts: { node?: string; selector?: string; source: string; exclude: string[]; to: BackupDestination; timeout: number; wait: boolean; json?: boolean }, cmd: Command) => {
    if (!!opts.node === !!opts.selector) {
      throw new ValidationError('choose one of --node or --selector', [{ field: 'target', rule: 'exactly one of --node, --selector' }]);
    }
    const client = clientFor(cmd);
    const common = { source: opts.source, exclude: opts.exclude, destination: opts.to, timeoutMs: opts.timeout };
    const body: BackupRun = opts.node ? { node: opts.node, ...common } : { selector: opts.selector!, ...common };
    const names = new NodeNames(client);
    const progress = await followProgress(client, names, opts.wait && !opts.json);
    let started: Awaited<ReturnType<typeof client.runBackup>>;
    let job: Awaited<ReturnType<typeof client.getJob>> | undefined;
    let ended: StewardCommand | undefined;
    try {
      started = await client.runBackup(body);
      progress.target.jobId = started.job?.id;
      progress.target.commandId = started.command?.id;
      if (opts.wait && started.job) job = await client.getJob(started.job.id, { wait: Math.min(300, Math.ceil(opts.timeout / 1000) + 5) });
      else if (opts.wait) ended = await waitCommand(client, started.command!.id, opts.timeout + 10_000);
    } finally {
      progress.stop();
    }
    if (started.job) {
      if (!job) return opts.json ? printJson(started.job) : println(`job ${started.job.id} started on ${started.job.total} node(s)`);
      if (opts.json) return printJson(job);
      for (const c of job.commands) {
        const r = c.result as { backupId?: string; fileCount?: number } | null;
        println(`${await names.name(c.nodeId)}  ${c.state}${r?.backupId ? `  ${r.backupId} (${r.fileCount} files)` : c.error ? `  ${c.error.message}` : ''}`);
      }
      if (job.state !== 'succeeded') process.exitCode = EXIT_FAILURE;
      return;
    }
    const command = started.command!;
    if (!ended) return opts.json ? printJson(command) : println(`command ${command.id} started`);
    finish(ended, opts.json, (r) => `${r.backupId}  ${r.fileCount} files, ${bytes(r.totalBytes)} → ${bytes(r.archiveSize)} (${r.destination})  sha256 ${r.archiveSha256}`);
  });

  withConnection(
    backups
      .command('restore')
      .description('restore a backup into a new or empty directory (another node: control-plane backups only)')
      .argument('<id>', 'backup id')
      .option('--node <node>', "where to restore (default: the backup's node)")
      .requiredOption('--target <dir>', 'absolute directory on that node')
      .addOption(durationOption('--timeout <duration>', 'how long the restore may take', 600_000))
      .option('--keep-special-bits', 'restore setuid, setgid and sticky bits too (default: masked off)')
      .option('--json', 'print JSON'),
  ).action(async (id: string, opts: { node?: string; target: string; timeout: number; keepSpecialBits?: boolean; json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const body = { node: opts.node, target: opts.target, timeoutMs: opts.timeout, ...(opts.keepSpecialBits ? { keepSpecialBits: true } : {}) };
    finish(await withProgress(client, opts.json, (c) => c.restoreBackup(id, body), opts.timeout + 10_000), opts.json, (r) => `restored ${r.fileCount} files (${bytes(r.totalBytes)}) into ${r.target}; every checksum matched`);
  });

  withConnection(
    backups
      .command('verify')
      .description("re-check a backup's archive and every file against its manifest")
      .argument('<id>', 'backup id')
      .option('--node <node>', "which node checks it (default: the backup's node)")
      .option('--json', 'print JSON'),
  ).action(async (id: string, opts: { node?: string; json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    finish(await withProgress(client, opts.json, (c) => c.verifyBackup(id, opts.node ? { node: opts.node } : {}), 600_000), opts.json, (r) => `ok: archive and ${r.fileCount} files match the manifest`);
  });

  withConnection(backups.command('rm').description('forget a backup and free its storage').argument('<id>', 'backup id')).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      await clientFor(cmd).deleteBackup(id);
      println(`deleted ${id}`);
    },
  );

  const schedule = backups.command('schedule').description('backups on a cron schedule, with retention');
  withConnection(
    schedule
      .command('add')
      .description('add a schedule')
      .requiredOption('--cron <expr>', 'cron expression, e.g. "0 3 * * *" (6 fields: seconds first)')
      .option('--timezone <tz>', 'IANA time zone (default UTC)')
      .option('--node <node>', 'node id or name')
      .option('--selector <sel>', 'label selector', selector)
      .requiredOption('--source <path>', 'absolute directory on the node(s)')
      .option('--exclude <pattern>', 'glob to leave out (repeatable)', collectList, [])
      .option('--to <destination>', 'node or control-plane', destination, 'control-plane' as BackupDestination)
      .option('--keep-last <n>', 'keep the newest N per node', positiveInt)
      .option('--keep-days <n>', 'keep those younger than N days', positiveInt)
      .option('--name <name>', 'a name for people')
      .option('--json', 'print JSON'),
  ).action(async (opts: { cron: string; timezone?: string; node?: string; selector?: string; source: string; exclude: string[]; to: BackupDestination; keepLast?: number; keepDays?: number; name?: string; json?: boolean }, cmd: Command) => {
    if (!!opts.node === !!opts.selector) {
      throw new ValidationError('choose one of --node or --selector', [{ field: 'target', rule: 'exactly one of --node, --selector' }]);
    }
    const s = await clientFor(cmd).createBackupSchedule({
      cron: opts.cron,
      timezone: opts.timezone,
      target: opts.node ? { node: opts.node } : { selector: opts.selector! },
      source: opts.source,
      exclude: opts.exclude,
      destination: opts.to,
      keepLast: opts.keepLast,
      keepDays: opts.keepDays,
      name: opts.name,
    });
    if (opts.json) return printJson(s);
    println(`schedule ${s.id}: next run ${timestamp(s.nextRunAt)}`);
  });
  withConnection(schedule.command('ls').description('list schedules').option('--json', 'print JSON')).action(async (opts: { json?: boolean }, cmd: Command) => {
    const { items } = await clientFor(cmd).listBackupSchedules();
    if (opts.json) return printJson(items);
    println(
      table(
        ['ID', 'CRON', 'TARGET', 'SOURCE', 'TO', 'KEEP', 'NEXT RUN'],
        items.map((s) => [
          s.id,
          s.cron,
          'node' in s.target ? s.target.node : s.target.selector,
          s.source,
          s.destination,
          [s.keepLast ? `last ${s.keepLast}` : '', s.keepDays ? `${s.keepDays} days` : ''].filter(Boolean).join(', ') || 'all',
          timestamp(s.nextRunAt),
        ]),
      ),
    );
  });
  withConnection(schedule.command('rm').description('remove a schedule (its backups stay)').argument('<id>', 'schedule id')).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      await clientFor(cmd).deleteBackupSchedule(id);
      println(`deleted ${id}`);
    },
  );
}
