import { Type, type Static } from '@steward/protocol';

/** The `shell:` section of the agent config. */
export const ShellSettings = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'false refuses every shell.session (shell_disabled)' }),
    maxIdleTimeoutMs: Type.Integer({
      minimum: 1000,
      maximum: 7 * 86_400_000,
      default: 86_400_000,
      description: 'a session asking for a longer idle timeout gets this one',
    }),
    shell: Type.Optional(Type.String({ pattern: '^/', maxLength: 4096, description: 'the program a session runs when it names none; default $SHELL, else /bin/sh' })),
  },
  { additionalProperties: false, default: {} },
);
export type ShellSettings = Static<typeof ShellSettings>;
