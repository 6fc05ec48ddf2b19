import { Type, type Static } from '@sinclair/typebox';
import { Id, Nullable, Timestamp } from './common.js';

/** admin: everything, including tokens; operator: read and change; reader: read only. */
export const API_ROLES = ['admin', 'operator', 'reader'] as const;
export type ApiRole = (typeof API_ROLES)[number];
export const ApiRoleSchema = Type.Union(API_ROLES.map((r) => Type.Literal(r)));

export const ApiTokenCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    role: ApiRoleSchema,
  },
  { additionalProperties: false },
);
export type ApiTokenCreate = Static<typeof ApiTokenCreate>;

export const ApiToken = Type.Object({
  id: Id,
  name: Type.String(),
  role: ApiRoleSchema,
  createdAt: Timestamp,
  lastUsedAt: Nullable(Timestamp),
});
export type ApiToken = Static<typeof ApiToken>;

export const ApiTokenCreated = Type.Composite([ApiToken, Type.Object({ token: Type.String() })]);
export type ApiTokenCreated = Static<typeof ApiTokenCreated>;
