import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  Backup,
  BackupListQuery,
  BackupRestore,
  BackupRun,
  BackupRunStarted,
  BackupSchedule,
  BackupScheduleCreate,
  BackupVerify,
  Command,
  IdParams,
  listOf,
} from '@steward/protocol';
import type { BackupScheduler } from './scheduler.js';
import type { BackupService } from './service.js';

export function backupRoutes(api: FastifyInstance, backups: BackupService, schedules: BackupScheduler): void {
  const r = api.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['backups'];
  r.get('/api/v1/backups', { schema: { tags, summary: 'Recorded backups, newest first', querystring: BackupListQuery, response: { 200: listOf(Backup) } } }, async (req) => ({
    items: await backups.list(req.query),
  }));
  r.get('/api/v1/backups/:id', { schema: { tags, params: IdParams, response: { 200: Backup } } }, async (req) => backups.get(req.params.id));
  r.post(
    '/api/v1/backups/run',
    { schema: { tags, summary: 'Back up a directory on a node (command) or on every node of a selector (job)', body: BackupRun, response: { 201: BackupRunStarted } } },
    async (req, reply) => reply.status(201).send(await backups.run(req.body)),
  );
  r.post(
    '/api/v1/backups/:id/restore',
    { schema: { tags, summary: 'Restore into a new or empty directory, on the same node or (control-plane backups) another', params: IdParams, body: BackupRestore, response: { 201: Command } } },
    async (req, reply) => reply.status(201).send(await backups.restore(req.params.id, req.body)),
  );
  r.post(
    '/api/v1/backups/:id/verify',
    { schema: { tags, summary: "Re-check a backup's archive and every file against its manifest", params: IdParams, body: BackupVerify, response: { 201: Command } } },
    async (req, reply) => reply.status(201).send(await backups.verify(req.params.id, req.body ?? {})),
  );
  r.delete('/api/v1/backups/:id', { schema: { tags, summary: 'Forget a backup and free its storage', params: IdParams } }, async (req, reply) => {
    await backups.remove(req.params.id);
    return reply.status(204).send();
  });

  const stags = ['backup-schedules'];
  r.post(
    '/api/v1/backup-schedules',
    { schema: { tags: stags, summary: 'Run backups on a cron schedule, with retention', body: BackupScheduleCreate, response: { 201: BackupSchedule } } },
    async (req, reply) => reply.status(201).send(await schedules.create(req.body)),
  );
  r.get('/api/v1/backup-schedules', { schema: { tags: stags, response: { 200: listOf(BackupSchedule) } } }, async () => ({ items: await schedules.list() }));
  r.get('/api/v1/backup-schedules/:id', { schema: { tags: stags, params: IdParams, response: { 200: BackupSchedule } } }, async (req) => schedules.get(req.params.id));
  r.delete('/api/v1/backup-schedules/:id', { schema: { tags: stags, params: IdParams } }, async (req, reply) => {
    await schedules.remove(req.params.id);
    return reply.status(204).send();
  });
}
