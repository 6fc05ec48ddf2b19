import type { Command, CommandCreate, CommandListQuery, Job, JobCreate, JobDetail } from '@steward/protocol';
import { enc } from '../transport.js';
import { Resource, type List, type WaitOptions } from './resource.js';

export interface SubmitResult {
  command: Command;
  /** False when the server returned an earlier command for the same `requestId`. */
  created: boolean;
}

export class CommandsApi extends Resource {
  async submitCommand(body: CommandCreate): Promise<SubmitResult> {
    const res = await this.http.request<Command>('POST', '/commands', { body });
    return { command: res.body, created: res.status === 201 };
  }

  async listCommands(query: CommandListQuery = {}): Promise<List<Command>> {
    return this.http.json<List<Command>>('GET', '/commands', { query: { ...query } });
  }

  async getCommand(id: string, opts: WaitOptions = {}): Promise<Command> {
    return this.http.json<Command>('GET', `/commands/${enc(id)}`, { query: { wait: opts.wait }, signal: opts.signal });
  }

  async cancelCommand(id: string): Promise<Command> {
    return this.http.json<Command>('POST', `/commands/${enc(id)}/cancel`);
  }
}

/** Jobs: one command fanned out over many nodes. */
export class JobsApi extends Resource {
  /** Creates the job; the answer is a summary with the first page of commands (`next` pages on). */
  async createJob(body: JobCreate): Promise<JobDetail> {
    return this.http.json<JobDetail>('POST', '/jobs', { body });
  }

  async listJobs(query: { state?: Job['state']; limit?: number } = {}): Promise<List<Job>> {
    return this.http.json<List<Job>>('GET', '/jobs', { query: { ...query } });
  }

  /**
   * The job with every command: reads page after page (the first one held by `wait`); `next`
   * is then null. Pages are read one after another while the job runs, so each command comes
   * once, in whatever state it had when its page was read.
   */
  async getJob(id: string, opts: WaitOptions = {}): Promise<JobDetail> {
    const limit = this.http.jobPageSize;
    const first = await this.getJobPage(id, { ...opts, limit });
    const commands = [...first.commands];
    for (let after = first.next; after !== null && after !== undefined; ) {
      const page = await this.getJobPage(id, { limit, after, signal: opts.signal });
      commands.push(...page.commands);
      after = page.next;
    }
    return { ...first, commands, next: null };
  }

  /** One page of the job's commands (`after`: the `next` of the page before); `wait` holds it until the job ends. */
  async getJobPage(id: string, opts: WaitOptions & { limit?: number; after?: string } = {}): Promise<JobDetail> {
    return this.http.json<JobDetail>('GET', `/jobs/${enc(id)}`, { query: { wait: opts.wait, limit: opts.limit, after: opts.after }, signal: opts.signal });
  }

  /** Cancels the job; the answer carries the first page of its commands (`getJob` reads them all). */
  async cancelJob(id: string): Promise<JobDetail> {
    return this.http.json<JobDetail>('POST', `/jobs/${enc(id)}/cancel`);
  }
}
