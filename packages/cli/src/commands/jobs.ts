import { Option, type Command } from 'commander';
import type { JobState } from '@steward/protocol';
import { JOB_STATE_CHOICES, positiveInt } from '../args.js';
import { execView } from '../command-view.js';
import { clientFor, withConnection } from '../connect.js';
import { ago, countsText, elapsed, table, timestamp } from '../format.js';
import { NodeNames } from '../node-names.js';
import { eprintln, printJson, println } from '../output.js';
import { awaitingApprovalNote } from './audit.js';

export function registerJobs(program: Command): void {
  const jobs = program.command('jobs').description('inspect jobs (one command fanned out to many nodes)');

  withConnection(
    jobs
      .command('ls')
      .description('list jobs, newest first')
      .addOption(new Option('--state <state>', 'only jobs in this state').choices(JOB_STATE_CHOICES))
      .option('--limit <n>', 'at most this many', positiveInt)
      .option('--json', 'print JSON'),
  ).action(async (opts: { state?: JobState; limit?: number; json?: boolean }, cmd: Command) => {
    const { items } = await clientFor(cmd).listJobs({ state: opts.state, limit: opts.limit });
    if (opts.json) return printJson(items);
    if (items.length === 0) return println('no jobs');
    println(
      table(
        ['ID', 'TYPE', 'STATE', 'NODES', 'COUNTS', 'CREATED', 'TOOK'],
        items.map((j) => [
          j.id,
          j.type,
          j.state,
          String(j.total),
          countsText(j.counts),
          ago(j.createdAt),
          elapsed(j.createdAt, j.finishedAt),
        ]),
      ),
    );
  });

  withConnection(
    jobs.command('show').description('show a job and its commands').argument('<id>', 'job id').option('--json', 'print JSON'),
  ).action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const job = await client.getJob(id);
    if (opts.json) return printJson(job);
    println(`id:       ${job.id}`);
    println(`type:     ${job.type}`);
    println(`payload:  ${JSON.stringify(job.payload)}`);
    println(`target:   ${JSON.stringify(job.target)}`);
    println(`state:    ${job.state}  (${countsText(job.counts)})`);
    println(`nodes:    ${job.total}${job.batchSize ? `, ${job.batchSize} at a time` : ''}`);
    println(`created:  ${timestamp(job.createdAt)}`);
    println(`finished: ${timestamp(job.finishedAt)}`);
    if (job.counts.awaiting_approval) eprintln(awaitingApprovalNote(job.id, job.counts.awaiting_approval));
    if (job.commands.length === 0) return;
    const names = new NodeNames(client);
    const rows: string[][] = [];
    for (const c of job.commands) {
      const v = execView(c);
      rows.push([
        c.id,
        await names.name(c.nodeId),
        c.state,
        v.exitCode === null ? '-' : String(v.exitCode),
        elapsed(c.startedAt ?? c.dispatchedAt, c.finishedAt),
        c.error ? `${c.error.code}: ${c.error.message}` : '',
      ]);
    }
    println('');
    println(table(['COMMAND', 'NODE', 'STATE', 'EXIT', 'TOOK', 'ERROR'], rows));
  });

  withConnection(jobs.command('cancel').description('cancel the commands of a job that have not ended').argument('<id>', 'job id')).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      const job = await clientFor(cmd).cancelJob(id);
      println(`${job.id}: ${job.state} (${countsText(job.counts)})`);
    },
  );
}
