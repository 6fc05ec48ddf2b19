import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  ApprovalListQuery,
  ApprovalPolicy,
  ApprovalPolicyPut,
  ApprovalRequest,
  Command,
  ForbiddenError,
  IdParams,
  JobDetail,
  listOf,
  PolicyNameParams,
  RejectBody,
} from '@steward/protocol';
import type { CommandService } from '../commands/service.js';
import type { JobService } from '../jobs/service.js';
import type { ApprovalService, Decider } from './service.js';

function deciderOf(req: FastifyRequest): Decider {
  return { tokenId: req.apiTokenId!, name: req.tokenName ?? req.apiTokenId!, role: req.role };
}

export function approvalRoutes(app: FastifyInstance, approvals: ApprovalService, commands: CommandService, jobs: JobService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['approvals'];
  // A policy decides what needs a second operator, so only admins change them.
  const adminOnly = async (req: { role?: string }) => {
    if (req.role !== 'admin') throw new ForbiddenError('only an admin token may change approval policies');
  };
  r.put('/api/v1/approval-policies/:name', { preHandler: adminOnly, schema: { tags, params: PolicyNameParams, body: ApprovalPolicyPut, response: { 200: ApprovalPolicy } } }, async (req) =>
    approvals.putPolicy(req.params.name, req.body),
  );
  r.get('/api/v1/approval-policies', { schema: { tags, response: { 200: listOf(ApprovalPolicy) } } }, async () => ({ items: await approvals.listPolicies() }));
  r.delete('/api/v1/approval-policies/:name', { preHandler: adminOnly, schema: { tags, params: PolicyNameParams } }, async (req, reply) => {
    await approvals.deletePolicy(req.params.name);
    return reply.status(204).send();
  });
  r.get('/api/v1/approvals', { schema: { tags, querystring: ApprovalListQuery, response: { 200: listOf(ApprovalRequest) } } }, async (req) => ({
    items: await approvals.list(req.query),
  }));

  r.post('/api/v1/commands/:id/approve', { schema: { tags, params: IdParams, response: { 200: Command } } }, async (req) => {
    await approvals.approve(await approvals.requestForCommand(req.params.id), deciderOf(req));
    return commands.get(req.params.id);
  });
  r.post('/api/v1/commands/:id/reject', { schema: { tags, params: IdParams, body: RejectBody, response: { 200: Command } } }, async (req) => {
    await approvals.reject(await approvals.requestForCommand(req.params.id), deciderOf(req), req.body?.reason);
    return commands.get(req.params.id);
  });
  r.post('/api/v1/jobs/:id/approve', { schema: { tags, params: IdParams, response: { 200: JobDetail } } }, async (req) => {
    await approvals.approve(await approvals.request(req.params.id, 'job'), deciderOf(req));
    return jobs.get(req.params.id);
  });
  r.post('/api/v1/jobs/:id/reject', { schema: { tags, params: IdParams, body: RejectBody, response: { 200: JobDetail } } }, async (req) => {
    await approvals.reject(await approvals.request(req.params.id, 'job'), deciderOf(req), req.body?.reason);
    return jobs.get(req.params.id);
  });
}
