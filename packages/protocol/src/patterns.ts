// The string patterns the schemas check, apart from the schemas: the CLI checks arguments
// against them (`@steward/protocol/patterns`) without loading TypeBox and every schema.
export const SHA256_PATTERN = '^[0-9a-f]{64}$';
export const NODE_NAME_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9._-]{0,62})$';
export const COMMAND_TYPE_PATTERN = '^[a-z][a-z0-9]*(\\.[a-z][a-z0-9_]*)+$';
