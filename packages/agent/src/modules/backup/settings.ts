import { Type, type Static } from '@steward/protocol';

/** The `backup:` section of the agent config. */
export const BackupSettings = Type.Object(
  {
    roots: Type.Optional(
      Type.Array(Type.String({ minLength: 1, pattern: '^/' }), {
        description: 'backup sources and restore targets must be inside one of these (default: the fs roots)',
      }),
    ),
    dir: Type.Optional(Type.String({ minLength: 1, pattern: '^/', description: 'where node-kept backups live (default: the module data dir)' })),
  },
  { additionalProperties: false },
);
export type BackupSettings = Static<typeof BackupSettings>;
