import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { IdParams, listOf, SchedulerPatch, SchedulerState, Task, TaskCreate, TaskDetail, TaskListQuery, Type, WaitQuery } from '@steward/protocol';
import type { TaskService } from './service.js';

const OutputQuery = Type.Object({
  follow: Type.Optional(Type.Boolean({ default: true, description: 'keep the stream open until the task ends' })),
});

export function taskRoutes(
  app: FastifyInstance,
  tasks: TaskService,
  output: (id: string, follow: boolean, req: FastifyRequest, reply: FastifyReply) => Promise<void>,
): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['tasks'];
  r.post('/api/v1/tasks', { schema: { tags, body: TaskCreate, response: { 200: Task, 201: Task } } }, async (req, reply) => {
    const { task, created } = await tasks.submit(req.body);
    return reply.status(created ? 201 : 200).send(task);
  });
  r.get('/api/v1/tasks', { schema: { tags, querystring: TaskListQuery, response: { 200: listOf(Task) } } }, async (req) => ({
    items: await tasks.list(req.query),
  }));
  r.get('/api/v1/tasks/:id', { schema: { tags, params: IdParams, querystring: WaitQuery, response: { 200: TaskDetail } } }, async (req) =>
    tasks.waitForEnd(req.params.id, (req.query.wait ?? 0) * 1000),
  );
  r.post('/api/v1/tasks/:id/cancel', { schema: { tags, params: IdParams, response: { 200: TaskDetail } } }, async (req) =>
    tasks.cancel(req.params.id),
  );
  r.get('/api/v1/tasks/:id/output', { schema: { tags, params: IdParams, querystring: OutputQuery } }, async (req, reply) =>
    output(req.params.id, req.query.follow ?? true, req, reply),
  );
  r.get('/api/v1/scheduler', { schema: { tags, response: { 200: SchedulerState } } }, async () => tasks.schedulerState());
  r.patch('/api/v1/scheduler', { schema: { tags, body: SchedulerPatch, response: { 200: SchedulerState } } }, async (req) =>
    tasks.setPaused(req.body.paused),
  );
}
