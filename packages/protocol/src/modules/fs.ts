import { Type } from '@sinclair/typebox';

const Path = Type.String({ minLength: 1, maxLength: 4096, pattern: '^/', description: 'absolute path inside one of the fs roots' });
const Mode = Type.String({ pattern: '^0?[0-7]{3,4}$', description: 'octal permission bits, e.g. "0644"' });
const Encoding = Type.Union([Type.Literal('utf8'), Type.Literal('base64')], { default: 'utf8' });
const Id = Type.Integer({ minimum: 0, maximum: 4_294_967_294 });
const obj = <T extends Parameters<typeof Type.Object>[0]>(props: T) => Type.Object(props, { additionalProperties: false });

export const FsListPayload = obj({ path: Path, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000 })) });
export const FsPathPayload = obj({ path: Path });
export const FsMkdirPayload = obj({ path: Path, mode: Type.Optional(Mode) });
export const FsChmodPayload = obj({ path: Path, mode: Mode });
export const FsChownPayload = obj({ path: Path, uid: Type.Optional(Id), gid: Type.Optional(Id) });
export const FsRemovePayload = obj({ path: Path, recursive: Type.Optional(Type.Boolean({ default: false })) });
export const FsReadPayload = obj({ path: Path, encoding: Type.Optional(Encoding) });
export const FsWritePayload = obj({
  path: Path,
  // Files written this way are often configs holding credentials: shown and kept redacted.
  content: Type.String({ maxLength: 64 * 1024 * 1024, writeOnly: true, description: 'secret: never shown or kept after the write' }),
  encoding: Type.Optional(Encoding),
  mode: Type.Optional(Mode),
});
