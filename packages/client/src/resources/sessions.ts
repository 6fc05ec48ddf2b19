import type { Readable } from 'node:stream';
import type { SessionListQuery, SessionRecording } from '@steward/protocol';
import { downloadStream } from '../artifact-transfer.js';
import { enc } from '../transport.js';
import { Resource, type List } from './resource.js';

/** Recorded terminal sessions (operator and admin tokens). */
export class SessionsApi extends Resource {
  async listSessions(query: Omit<SessionListQuery, 'format'> = {}): Promise<List<SessionRecording>> {
    return this.http.json<List<SessionRecording>>('GET', '/sessions', { query: { ...query } });
  }

  async getSession(id: string): Promise<SessionRecording> {
    return this.http.json<SessionRecording>('GET', `/sessions/${enc(id)}`);
  }

  /** The recording (asciicast v2) as a stream of its bytes; consume or destroy it. */
  async sessionRecordingStream(id: string): Promise<Readable> {
    return (await downloadStream(this.http.streams(), `/api/v1/sessions/${enc(id)}/recording`)).body;
  }

  /** The recording (asciicast v2) as text. */
  async sessionRecording(id: string): Promise<string> {
    const parts: Buffer[] = [];
    for await (const p of await this.sessionRecordingStream(id)) parts.push(p as Buffer);
    return Buffer.concat(parts).toString('utf8');
  }

  async deleteSession(id: string): Promise<void> {
    await this.http.request('DELETE', `/sessions/${enc(id)}`);
  }
}
