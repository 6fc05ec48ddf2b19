import { Type, type Static } from '@sinclair/typebox';
import { APPROVAL_STATES } from '../states.js';
import { Id, Nullable, Timestamp } from './common.js';

export const POLICY_NAME_PATTERN = '^[a-z0-9][a-z0-9_.-]*$';
/** A command type or a glob over it: `exec.run`, `exec.*`, `*`. */
export const COMMAND_TYPE_GLOB_PATTERN = '^[a-z0-9_.*]+$';

export const ApprovalPolicyPut = Type.Object(
  {
    commandTypes: Type.Array(Type.String({ pattern: COMMAND_TYPE_GLOB_PATTERN, minLength: 1, maxLength: 100 }), {
      minItems: 1,
      maxItems: 100,
      description: 'command types or globs (`exec.*`)',
    }),
    selector: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'label selector of the nodes it covers; all nodes when absent' })),
    approvals: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, default: 1, description: 'approvals by other operator tokens needed' })),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86_400, default: 3600, description: 'expires unapproved after this' })),
  },
  { additionalProperties: false },
);
export type ApprovalPolicyPut = Static<typeof ApprovalPolicyPut>;

export const ApprovalPolicy = Type.Object({
  name: Type.String(),
  commandTypes: Type.Array(Type.String()),
  selector: Nullable(Type.String()),
  approvals: Type.Integer(),
  ttlSeconds: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ApprovalPolicy = Static<typeof ApprovalPolicy>;

export const PolicyNameParams = Type.Object({ name: Type.String({ pattern: POLICY_NAME_PATTERN, minLength: 1, maxLength: 100 }) });
export type PolicyNameParams = Static<typeof PolicyNameParams>;

export const ApprovalStateSchema = Type.Union(APPROVAL_STATES.map((s) => Type.Literal(s)));

/** A command or job waiting for (or past) a second operator's decision. */
export const ApprovalRequest = Type.Object({
  id: Id,
  kind: Type.Union([Type.Literal('command'), Type.Literal('job')]),
  type: Type.String({ description: 'the command type' }),
  policy: Type.String(),
  state: ApprovalStateSchema,
  needed: Type.Integer(),
  approvedBy: Type.Array(Type.String(), { description: 'names of the tokens that approved so far' }),
  requestedBy: Type.String({ description: 'name of the token that submitted it' }),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  decidedAt: Nullable(Timestamp),
  reason: Nullable(Type.String()),
});
export type ApprovalRequest = Static<typeof ApprovalRequest>;

export const ApprovalListQuery = Type.Object({
  state: Type.Optional(ApprovalStateSchema),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 500 })),
});
export type ApprovalListQuery = Static<typeof ApprovalListQuery>;

export const RejectBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
export type RejectBody = Static<typeof RejectBody>;
