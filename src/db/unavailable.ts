/**
 * Errors that say the database cannot be reached or cannot answer now, rather than that the
 * request is wrong: a lost or refused connection, a server shutting down or starting up, a
 * statement that ran out of time, too many connections, a standby that refuses writes. They are
 * answered 503 UNAVAILABLE with Retry-After: retrying later can succeed.
 */
const DRIVER_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'DATABASE_TIMEOUT',
  'DATABASE_DOWN',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'TARGET_SESSION_ATTRS',
]);

const SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '57014', // query_canceled (statement_timeout)
  '55P03', // lock_not_available
  '53300', // too_many_connections
  '53100', // disk_full
  '53200', // out_of_memory
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '25006', // read_only_sql_transaction (a standby, or a primary being demoted)
  '25P03', // idle_in_transaction_session_timeout
]);

export function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  // Class 08: connection exceptions.
  return DRIVER_CODES.has(code) || SQLSTATES.has(code) || (code.length === 5 && code.startsWith('08'));
}
