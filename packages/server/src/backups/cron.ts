import { Cron } from 'croner';
import { ValidationError } from '@steward/protocol';

/** A cron expression checked up front: a bad one is a 400 naming the field, never a sweep error. */
export function parseCron(expression: string, timezone: string): Cron {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw new ValidationError(`timezone: ${JSON.stringify(timezone)} is not an IANA time zone`, [{ field: 'timezone', rule: 'IANA time zone, e.g. Europe/Berlin' }]);
  }
  let cron: Cron;
  try {
    cron = new Cron(expression, { paused: true, timezone });
  } catch (e) {
    throw new ValidationError(`cron: ${(e as Error).message}`, [{ field: 'cron', rule: `valid cron expression (${(e as Error).message})` }]);
  }
  if (!cron.nextRun()) throw new ValidationError('cron: the expression never runs', [{ field: 'cron', rule: 'must have a future run time' }]);
  return cron;
}

/** The first run strictly after `after`, or null when there is none. */
export function nextRunAfter(cron: Cron, after: number): number | null {
  return cron.nextRun(new Date(after))?.getTime() ?? null;
}
