// The one place a database pool is created. Every query result is checked against its zod row
// schema at run time (Slonik's `sql.type` alone only types it), and timestamps leave the database
// as RFC 3339 strings so handlers can return rows to the client as they are.
import {
  BackendTerminatedError,
  sql,
  ConnectionError,
  createPool,
  createTypeParserPreset,
  SchemaValidationError,
  StatementTimeoutError,
  type DatabasePool,
  type DriverTypeParser,
  type Interceptor,
} from 'slonik';
import { z } from 'zod';
import type { Logger } from 'pino';

export type { DatabasePool };

const resultParserInterceptor: Interceptor = {
  name: 'result-parser',
  transformRowAsync: async (context, query, row) => {
    const parser = context.resultParser;
    if (!parser) return row;
    const result = await parser['~standard'].validate(row);
    if (result.issues) throw new SchemaValidationError(query, row, result.issues);
    return result.value as typeof row;
  },
};

// PostgreSQL renders timestamptz as '2026-11-23 18:00:00.123+00'; clients get RFC 3339 UTC. The
// columns are timestamptz(3), so nothing is lost converting through a JavaScript Date.
const timestamptzAsIsoString: DriverTypeParser = {
  name: 'timestamptz',
  parse: (value: string) => new Date(value).toISOString(),
};

const typeParsers = [
  ...createTypeParserPreset().filter((parser) => parser.name !== 'timestamptz'),
  timestamptzAsIsoString,
];

export type PoolOptions = {
  readonly maxPoolSize: number;
  /** Extra interceptors, e.g. a test that records every statement the API issues. */
  readonly interceptors?: readonly Interceptor[];
};

/**
 * `sslmode` as libpq and Neon spell it, rewritten for the driver that will read it. Whenever TLS is
 * on, both drivers verify the server's certificate and host name (libpq's verify-full) — stricter
 * than libpq's `require`, and what managed services such as Neon pass. `no-verify` opts out.
 * Slonik accepts only disable / no-verify / require; pg warns unless it reads verify-full.
 */
export function withDriverSslMode(databaseUrl: string, driver: 'slonik' | 'pg'): string {
  const url = new URL(databaseUrl);
  const mode = url.searchParams.get('sslmode');
  if (mode === null || mode === 'disable' || mode === 'no-verify') return databaseUrl;
  if (!['allow', 'prefer', 'require', 'verify-ca', 'verify-full'].includes(mode)) {
    throw new Error(`DATABASE_URL has an unknown sslmode "${mode}" (use disable, require, verify-full or no-verify)`);
  }
  url.searchParams.set('sslmode', driver === 'slonik' ? 'require' : 'verify-full');
  return url.toString();
}

export async function createDatabasePool(url: string, options: PoolOptions): Promise<DatabasePool> {
  return createPool(withDriverSslMode(url, 'slonik'), {
    interceptors: [resultParserInterceptor, ...(options.interceptors ?? [])],
    typeParsers,
    maxPoolSize: options.maxPoolSize,
    // Fail fast when PostgreSQL is unreachable: a request should get a 503 in seconds, not hang.
    connectionTimeout: 3_000,
    connectionRetryLimit: 1,
    statementTimeout: 10_000,
    idleInTransactionSessionTimeout: 10_000,
    // Our statements never change session state (no SET, temp tables or named statements), so
    // Slonik's default DISCARD ALL on every release would only add a round trip to each query.
    resetConnection: async () => {},
  });
}

/**
 * Boot-time connect: Slonik's createPool connects eagerly and does not retry, so a database that
 * is still starting (or a wrong URL) is retried with backoff until `deadlineMs`, then the last
 * error is thrown for the caller to report.
 */
export async function connectWithRetry(
  url: string,
  options: PoolOptions & { readonly deadlineMs: number; readonly log: Logger },
): Promise<DatabasePool> {
  const startedAt = Date.now();
  for (let attempt = 1, delayMs = 250; ; attempt += 1, delayMs = Math.min(delayMs * 2, 4_000)) {
    try {
      return await createDatabasePool(url, options);
    } catch (error) {
      const elapsedMs = Date.now() - startedAt;
      if (elapsedMs + delayMs > options.deadlineMs) throw error;
      options.log.warn(
        { attempt, retryInMs: delayMs, reason: describeConnectError(error) },
        'database not reachable yet; retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

export function describeConnectError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

// SQLSTATE classes and codes that mean "the database is not there right now", not "this request
// is wrong": connection exceptions (08), operator intervention / shutdown (57P01–57P03), too many
// connections (53300).
const unavailableSqlStates = new Set(['57P01', '57P02', '57P03', '53300']);
const unavailableNetworkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof ConnectionError || error instanceof BackendTerminatedError) return true;
  if (error instanceof StatementTimeoutError) return true;
  for (let current: unknown = error, depth = 0; current && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (unavailableNetworkCodes.has(code) || unavailableSqlStates.has(code) || code.startsWith('08')) {
        return true;
      }
    }
    const message = current instanceof Error ? current.message : '';
    if (/Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(message)) {
      return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** One round trip that proves the database answers (for /ready). */
export async function pingDatabase(db: DatabasePool): Promise<void> {
  await db.oneFirst(sql.type(z.object({ answers: z.literal(1) }))`select 1 as answers`);
}
