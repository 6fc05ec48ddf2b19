import { stat } from 'node:fs/promises';
import { confine } from '../../lib/confine.js';
import { fsFailure } from '../../lib/fs-failure.js';
import { HandlerFailure } from '../types.js';

/** The real directory behind `path`, which must be inside `roots` (the fs module's rule). */
export async function confinedDirectory(path: string, roots: string[]): Promise<string> {
  const { real } = await confine(path, roots);
  const st = await stat(real).catch((e) => {
    throw fsFailure(e, path);
  });
  if (!st.isDirectory()) throw new HandlerFailure('not_a_directory', `${path} is not a directory`, { details: { path } });
  return real;
}
