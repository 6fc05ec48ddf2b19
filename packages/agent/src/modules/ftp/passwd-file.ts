import { readFile } from 'node:fs/promises';

/** One line of pure-pw's passwd file, without the password hash. */
export interface FtpUser {
  username: string;
  uid: number;
  gid: number;
  home: string;
  chroot: boolean;
  quotaMB: number | null;
  maxFiles: number | null;
}

const MB = 1024 * 1024;

/**
 * Parses pure-pw's passwd file (`login:hash:uid:gid:gecos:home:…:files_quota:size_quota:…`).
 * Read directly because `pure-pw list` shows only names and homes; the hash is dropped here.
 */
export function parsePasswd(text: string): FtpUser[] {
  const users: FtpUser[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 13 || !f[0]) continue;
    const chroot = f[5]!.endsWith('/./');
    const home = chroot ? f[5]!.slice(0, -3) || '/' : f[5]!;
    const num = (s: string | undefined) => (s ? Number.parseInt(s, 10) : null);
    const size = num(f[12]);
    users.push({
      username: f[0],
      uid: Number(f[2]),
      gid: Number(f[3]),
      home,
      chroot,
      quotaMB: size === null ? null : Math.round(size / MB),
      maxFiles: num(f[11]),
    });
  }
  return users;
}

export async function readUsers(passwdFile: string): Promise<FtpUser[]> {
  const text = await readFile(passwdFile, 'utf8').catch((e) => ((e as NodeJS.ErrnoException).code === 'ENOENT' ? '' : Promise.reject(e)));
  return parsePasswd(text);
}
