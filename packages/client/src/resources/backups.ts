import type {
  Backup,
  BackupListQuery,
  BackupRestore,
  BackupRun,
  BackupRunStarted,
  BackupSchedule,
  BackupScheduleCreate,
  BackupVerify,
  Command,
} from '@steward/protocol';
import { enc } from '../transport.js';
import { Resource, type List } from './resource.js';

export class BackupsApi extends Resource {
  async listBackups(query: BackupListQuery = {}): Promise<List<Backup>> {
    return this.http.json<List<Backup>>('GET', '/backups', { query: { ...query } });
  }

  async getBackup(id: string): Promise<Backup> {
    return this.http.json<Backup>('GET', `/backups/${enc(id)}`);
  }

  async runBackup(body: BackupRun): Promise<BackupRunStarted> {
    return this.http.json<BackupRunStarted>('POST', '/backups/run', { body });
  }

  async restoreBackup(id: string, body: BackupRestore): Promise<Command> {
    return this.http.json<Command>('POST', `/backups/${enc(id)}/restore`, { body });
  }

  async verifyBackup(id: string, body: BackupVerify = {}): Promise<Command> {
    return this.http.json<Command>('POST', `/backups/${enc(id)}/verify`, { body });
  }

  async deleteBackup(id: string): Promise<void> {
    await this.http.request('DELETE', `/backups/${enc(id)}`);
  }

  async createBackupSchedule(body: BackupScheduleCreate): Promise<BackupSchedule> {
    return this.http.json<BackupSchedule>('POST', '/backup-schedules', { body });
  }

  async listBackupSchedules(): Promise<List<BackupSchedule>> {
    return this.http.json<List<BackupSchedule>>('GET', '/backup-schedules');
  }

  async deleteBackupSchedule(id: string): Promise<void> {
    await this.http.request('DELETE', `/backup-schedules/${enc(id)}`);
  }
}
