import { Type, type Static } from '@sinclair/typebox';

// Linux refuses a single argv string longer than 128 KiB (MAX_ARG_STRLEN).
const MAX_ARG = 128 * 1024;

/** Environment values are secrets (tokens, passwords); their names are not. */
export const SecretEnv = (maxLength: number, description?: string) =>
  Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String({ maxLength, writeOnly: true }), {
    additionalProperties: false,
    maxProperties: 256,
    ...(description ? { description } : {}),
  });

export const ExecRunPayload = Type.Object(
  {
    command: Type.String({ minLength: 1, maxLength: MAX_ARG, description: 'program to run, or the script with shell: true' }),
    args: Type.Optional(Type.Array(Type.String({ maxLength: MAX_ARG }), { maxItems: 4096 })),
    cwd: Type.Optional(Type.String({ pattern: '^/', maxLength: 4096, description: 'absolute working directory' })),
    env: Type.Optional(SecretEnv(MAX_ARG, 'added to the agent environment; values are secret (never shown or kept after the run)')),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400_000 })),
    shell: Type.Optional(Type.Boolean({ description: 'run command with /bin/sh -c; args become $1…' })),
    input: Type.Optional(Type.String({ maxLength: 16 * 1024 * 1024, writeOnly: true, description: 'written to stdin, then stdin is closed; secret (never shown or kept after the run)' })),
  },
  { additionalProperties: false },
);
export type ExecRunPayload = Static<typeof ExecRunPayload>;
