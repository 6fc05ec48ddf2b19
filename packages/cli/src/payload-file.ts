import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from '@steward/protocol/errors';

/**
 * A payload from a YAML or JSON file (`-` = stdin). Files keep secrets such as passwords and
 * private keys off the command line, where other users could read them in `ps`.
 */
export function readPayloadFile(path: string, option = '--payload-file'): Record<string, unknown> {
  const refuse = (why: string) => new ValidationError(`${option} ${path}: ${why}`, [{ field: option.replace(/^--/, ''), rule: why }]);
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    throw refuse(`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text); // YAML is a superset of JSON
  } catch (e) {
    throw refuse(`not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw refuse('must hold a mapping (an object)');
  return doc as Record<string, unknown>;
}
