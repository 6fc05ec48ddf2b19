import { Type, type Static } from '@steward/protocol';

const AbsPath = (description: string, dflt?: string) =>
  Type.String({ pattern: '^/[^\\s:]*$', maxLength: 1024, description, ...(dflt === undefined ? {} : { default: dflt }) });

/** The `ftp:` section of the agent config; defaults fit Debian's pure-ftpd packages. */
export const FtpSettings = Type.Object(
  {
    purePw: AbsPath('the pure-pw program', '/usr/bin/pure-pw'),
    pureFtpd: AbsPath('the pure-ftpd program (for ftp.status)', '/usr/sbin/pure-ftpd'),
    passwdFile: AbsPath('virtual users file pure-pw edits', '/etc/pure-ftpd/pureftpd.passwd'),
    dbFile: AbsPath('PureDB file pure-ftpd reads (-l puredb:FILE); rebuilt by pure-pw mkdb', '/etc/pure-ftpd/pureftpd.pdb'),
    pidFile: AbsPath("pure-ftpd's pid file (for ftp.status)", '/run/pure-ftpd/pure-ftpd.pid'),
    homeRoots: Type.Array(AbsPath('directory FTP homes must be inside'), {
      default: ['/srv/ftp', '/var/www', '/home'],
      description: 'home directories must be inside one of these; [] allows any absolute path',
    }),
    defaultUid: Type.Optional(Type.Integer({ minimum: 1, maximum: 4_294_967_294, description: 'system uid files belong to when the payload gives none' })),
    defaultGid: Type.Optional(Type.Integer({ minimum: 1, maximum: 4_294_967_294 })),
    minUid: Type.Integer({ minimum: 1, default: 1000, description: 'lowest uid accepted (keep equal to pure-ftpd -u / MinUID)' }),
    chroot: Type.Boolean({ default: true, description: 'lock users in their home (pure-pw -d rather than -D)' }),
    timeoutMs: Type.Integer({ minimum: 1000, maximum: 600_000, default: 60_000, description: 'limit for one pure-pw run (hashing is slow on purpose)' }),
  },
  { additionalProperties: false, default: {} },
);
export type FtpSettings = Static<typeof FtpSettings>;
