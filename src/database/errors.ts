// The one place that answers "which database error is this": its SQLSTATE, and what kind of
// trouble it means for the caller. The HTTP layer (problems.ts), the handlers, start-up and the
// pool's prepared-statement fallback all ask here, so a code is never interpreted two ways.
import { BackendTerminatedError, ConnectionError, StatementTimeoutError } from 'slonik';

export type DatabaseErrorKind =
  /** Not there right now (down, starting, restarting, full, unreachable, too slow): retry later, answer 503. */
  | 'unavailable'
  /** A setting is wrong (credentials, database name, a start-up parameter, TLS): waiting cannot cure it. */
  | 'misconfigured'
  /**
   * A named prepared statement that this connection believed it had (26000) or had not (42P05) —
   * what a transaction-mode pooler that does not track them (PgBouncer < 1.21, or without
   * max_prepared_statements) does: each transaction may run on another server connection.
   */
  | 'prepared-statement-lost'
  /** Text PostgreSQL cannot store (NUL characters, invalid encoding). */
  | 'untranslatable-text'
  /** A parameter value the server refuses, e.g. an unknown time zone name. */
  | 'invalid-parameter-value'
  /** A lock not granted within lock_timeout (55P03). */
  | 'lock-not-available'
  | 'other';

export type DatabaseError = { readonly sqlState: string | undefined; readonly kind: DatabaseErrorKind };

// Connection-level causes a network or a starting server gives: nothing the operator typed is wrong.
const unavailableNetworkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  // A name that does not resolve yet (a container network still coming up) is retried too; one that
  // never resolves ends when DATABASE_WAIT_SECONDS runs out, with the name in the message.
  'ENOTFOUND',
  'EAI_AGAIN',
]);

// Node's TLS verification failures: a certificate or host name that does not match the URL's host.
const tlsCodes = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

const causes = (error: unknown): unknown[] => {
  const chain: unknown[] = [];
  for (let current = error, depth = 0; current && depth < 5; depth += 1) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
};

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
};

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : '');

/** The SQLSTATE of a database error, wherever the driver and Slonik put it (the error or a cause). */
export function sqlStateOf(error: unknown): string | undefined {
  for (const current of causes(error)) {
    const code = codeOf(current);
    if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** What kind of trouble a database error means (see DatabaseErrorKind). */
export function classifyDatabaseError(error: unknown): DatabaseError {
  const sqlState = sqlStateOf(error);
  return { sqlState, kind: kindOf(error, sqlState) };
}

function kindOf(error: unknown, sqlState: string | undefined): DatabaseErrorKind {
  const chain = causes(error);
  const messages = chain.map(messageOf).join('\n');
  if (sqlState !== undefined) {
    // PgBouncer answers most of its own refusals with 08P01; only this one is a setting to fix.
    if (sqlState === '08P01' && /unsupported startup parameter/i.test(messages)) return 'misconfigured';
    // 28000 / 28P01: no such role, a wrong password, or pg_hba refusing (often "no encryption");
    // 3D000: no such database.
    if (sqlState.startsWith('28') || sqlState === '3D000') return 'misconfigured';
    // Connection exceptions (08), shutdown / cannot connect now (57P01–57P03), too many connections.
    if (sqlState.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(sqlState)) return 'unavailable';
    if (sqlState === '26000' || sqlState === '42P05') return 'prepared-statement-lost';
    if (sqlState === '22021' || sqlState === '22P05') return 'untranslatable-text';
    if (sqlState === '22023') return 'invalid-parameter-value';
    if (sqlState === '55P03') return 'lock-not-available';
  }
  if (chain.some((current) => tlsCodes.has(codeOf(current) ?? ''))) return 'misconfigured';
  if (/does not support SSL|self[- ]signed certificate|certificate|Hostname\/IP does not match/i.test(messages)) return 'misconfigured';
  if (chain.some((current) => current instanceof ConnectionError || current instanceof BackendTerminatedError)) return 'unavailable';
  if (chain.some((current) => current instanceof StatementTimeoutError)) return 'unavailable';
  if (chain.some((current) => unavailableNetworkCodes.has(codeOf(current) ?? ''))) return 'unavailable';
  if (/Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(messages)) return 'unavailable';
  return 'other';
}

/**
 * One line for an operator: what the error means and which setting to fix. `setting` is the
 * variable that held the URL (DATABASE_URL or DATABASE_MIGRATION_URL).
 */
export function describeDatabaseError(error: unknown, setting: string): string {
  const { sqlState, kind } = classifyDatabaseError(error);
  const raw = oneLine(causes(error).map(messageOf).find((message) => message !== '') ?? String(error));
  const code = sqlState ?? causes(error).map(codeOf).find((candidate) => candidate !== undefined);
  const reason = code ? `${code}: ${raw}` : raw;
  if (kind !== 'misconfigured') return reason;
  if (sqlState === '28P01') return `the database refused the user name or password in ${setting} (${reason}); fix ${setting}`;
  if (sqlState === '3D000') return `the database named in ${setting} does not exist (${reason}); fix the path of ${setting} or create the database`;
  if (sqlState === '08P01') {
    return (
      `the server (a connection pooler such as PgBouncer) refused a start-up parameter (${reason}); ` +
      `tasks-api sends none of its own, so remove it from ${setting} (e.g. ?options=…) or list it in the pooler's ignore_startup_parameters`
    );
  }
  if (sqlState?.startsWith('28')) return `the database refused this connection (${reason}); check the user and sslmode in ${setting}`;
  return `TLS to the database failed (${reason}); check the host name and sslmode in ${setting} (sslmode=require verifies the certificate and host name)`;
}

const oneLine = (text: string) => text.replaceAll(/\s+/g, ' ').trim();
