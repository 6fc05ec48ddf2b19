import { ApiError, ConnectionConfigError } from '@steward/client/errors';
import { StewardError } from '@steward/protocol/errors';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

interface Issue {
  field: string;
  rule: string;
}

function issuesOf(details: unknown): Issue[] {
  const issues = (details as { issues?: unknown } | null | undefined)?.issues;
  if (!Array.isArray(issues)) return [];
  return issues.filter((i): i is Issue => typeof i?.field === 'string' && typeof i?.rule === 'string');
}

/** Prints `error: …` plus one line per field issue; returns the exit code (2 usage/validation, 1 other). */
export function reportError(e: unknown, write: (text: string) => void = (t) => process.stderr.write(t)): number {
  let message: string;
  let issues: Issue[] = [];
  let usage = false;
  if (e instanceof ApiError || e instanceof StewardError) {
    message = e.message;
    issues = issuesOf(e.details);
    usage = e.code === 'validation_failed';
  } else if (e instanceof ConnectionConfigError) {
    message = e.message;
    usage = true;
  } else if (e instanceof Error) {
    message = e.message;
  } else {
    message = String(e);
  }
  let out = `error: ${message}\n`;
  for (const i of issues) out += `  ${i.field}: ${i.rule}\n`;
  write(out);
  return usage ? EXIT_USAGE : EXIT_FAILURE;
}
