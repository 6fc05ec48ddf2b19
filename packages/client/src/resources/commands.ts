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
  async createJob(body: JobCreate): Promise<JobDetail> {
    return this.http.json<JobDetail>('POST', '/jobs', { body });
  }

  async listJobs(query: { state?: Job['state']; limit?: number } = {}): Promise<List<Job>> {
    return this.http.json<List<Job>>('GET', '/jobs', { query: { ...query } });
  }

  async getJob(id: string, opts: WaitOptions = {}): Promise<JobDetail> {
    return this.http.json<JobDetail>('GET', `/jobs/${enc(id)}`, { query: { wait: opts.wait }, signal: opts.signal });
  }

  async cancelJob(id: string): Promise<JobDetail> {
    return this.http.json<JobDetail>('POST', `/jobs/${enc(id)}/cancel`);
  }
}
