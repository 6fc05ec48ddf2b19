import { Type, type Static } from '@sinclair/typebox';

/** No `:` (the passwd file's separator), no leading `-` (pure-pw would read an option). */
export const USERNAME = '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$';
export const HOME = '^/[A-Za-z0-9._@+,=~/-]*$';

export const Username = Type.String({ pattern: USERNAME, description: 'letters, digits, `.`, `_`, `@`, `-`; starts with a letter or digit' });
const Id = Type.Integer({ minimum: 1, maximum: 4_294_967_294 });

export const FtpUserSpec = Type.Object(
  {
    username: Username,
    password: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        pattern: '^[^\\r\\n\\x00]+$',
        writeOnly: true,
        description: 'required to create; given on an update it is always set again (counts as a change); never stored or returned',
      }),
    ),
    home: Type.String({ pattern: HOME, maxLength: 1024, description: 'absolute home directory, created when missing; inside ftp.homeRoots' }),
    quotaMB: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 * 1024 * 1024, description: 'size quota in MB; omitted = none' })),
    maxFiles: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_000_000_000, description: 'file count quota; omitted = none' })),
    uid: Type.Optional(Id),
    gid: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type FtpUserSpec = Static<typeof FtpUserSpec>;

export const FtpUserRemovePayload = Type.Object({ username: Username }, { additionalProperties: false });
