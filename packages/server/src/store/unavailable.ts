/**
 * PostgreSQL SQLSTATE classes and codes that mean "the database is not there right now" rather
 * than "this statement is wrong": 08 connection exception, 57P01 admin_shutdown, 57P02
 * crash_shutdown, 57P03 cannot_connect_now (starting up / shutting down).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123])$/;
/** Socket-level errors of the pool's connections while PostgreSQL is down or restarting. */
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);
/** node-postgres raises these without a code when a connection dies under it or the pool cannot connect in time. */
const UNAVAILABLE_MESSAGE = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection terminated unexpectedly)/;

/**
 * True when `err` says the store is unreachable (a PostgreSQL restart, a network cut), so the
 * caller can answer 503 and try again later instead of reporting an internal error.
 */
export function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) return true;
  if (UNAVAILABLE_MESSAGE.test(err.message)) return true;
  // AggregateError (a dual-stack connect refused on every address) and wrapped causes.
  const nested = [...((err as { errors?: unknown[] }).errors ?? []), (err as { cause?: unknown }).cause];
  return nested.some((e) => e !== undefined && e !== err && isStoreUnavailable(e));
}
