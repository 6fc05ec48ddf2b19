import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { IdParams, Job, JobCreate, JobDetail, JobGetQuery, JobListQuery, listOf } from '@steward/protocol';
import type { JobService } from './service.js';
import { requesterOf } from '../commands/requester.js';

export function jobRoutes(app: FastifyInstance, jobs: JobService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['jobs'];
  // Answers a summary (counts, the first page of commands): a 10,000-node job's full list is paged by GET.
  r.post('/api/v1/jobs', { schema: { tags, body: JobCreate, response: { 200: JobDetail, 201: JobDetail } } }, async (req, reply) => {
    const { job, created } = await jobs.create(req.body, requesterOf(req));
    return reply.status(created ? 201 : 200).send(job);
  });
  r.get('/api/v1/jobs', { schema: { tags, querystring: JobListQuery, response: { 200: listOf(Job) } } }, async (req) => ({
    items: await jobs.list(req.query),
  }));
  // One page of the job's commands (`?limit=&after=`); `wait` holds the answer until the job ends.
  r.get('/api/v1/jobs/:id', { schema: { tags, params: IdParams, querystring: JobGetQuery, response: { 200: JobDetail } } }, async (req) => {
    const { wait, ...page } = req.query;
    return jobs.waitForEnd(req.params.id, (wait ?? 0) * 1000, page);
  });
  r.post('/api/v1/jobs/:id/cancel', { schema: { tags, params: IdParams, response: { 200: JobDetail } } }, async (req) =>
    jobs.cancel(req.params.id),
  );
}
