import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { UpgradeError } from './layout.js';

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, base)));
    else out.push(relative(base, p).split(sep).join('/'));
  }
  return out.sort();
}

/**
 * The checks install.sh makes, on an unpacked package: manifest.json names `version`; every file
 * is listed in SHA256SUMS and hashes to it; SHA256SUMS and the manifest agree. Throws
 * `package_invalid` naming the first file that does not match.
 */
export async function verifyUnpacked(dir: string, version: string): Promise<void> {
  const bad = (why: string) => new UpgradeError('package_invalid', `the agent package is refused: ${why}; nothing was switched`);
  let manifest: { version?: unknown; files?: Record<string, string> };
  let sums: string;
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as typeof manifest;
    sums = await readFile(join(dir, 'SHA256SUMS'), 'utf8');
  } catch (e) {
    throw bad(`manifest.json or SHA256SUMS is missing or unreadable (${(e as Error).message})`);
  }
  if (manifest.version !== version) throw bad(`its manifest names version ${String(manifest.version)}, not ${version}`);
  const listed = new Map<string, string>();
  for (const line of sums.split('\n')) {
    if (!line) continue;
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) throw bad('SHA256SUMS has a malformed line');
    listed.set(m[2]!, m[1]!);
  }
  const files = (await listFiles(dir)).filter((f) => f !== 'SHA256SUMS');
  const unlisted = files.filter((f) => !listed.has(f));
  if (unlisted.length) throw bad(`it holds files SHA256SUMS does not list (${unlisted.slice(0, 3).join(', ')})`);
  if (listed.size !== files.length) throw bad('SHA256SUMS lists files the package does not hold');
  for (const [f, h] of listed) {
    if (f !== 'manifest.json' && manifest.files?.[f] !== h) throw bad(`${f}: SHA256SUMS and manifest.json disagree`);
    if ((await sha256File(join(dir, f))) !== h) throw bad(`${f} does not match its SHA-256`);
  }
}
