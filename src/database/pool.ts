// The one place a database pool is created. Every query result is checked against its zod row
// schema at run time (Slonik's `sql.type` alone only types it), timestamps leave the database as
// RFC 3339 strings so handlers can return rows to the client as they are, and no caller waits on
// the database longer than a fixed deadline: an outage is a prompt 503, never a hang.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { createPgDriverFactory } from '@slonik/pg-driver';
import {
  BackendTerminatedError,
  ConnectionError,
  createPool,
  createTypeParserPreset,
  SchemaValidationError,
  StatementTimeoutError,
  type DatabasePool,
  type DriverFactory,
  type DriverTypeParser,
  type Interceptor,
  sql,
} from 'slonik';
import { z } from 'zod';
import type { Logger } from 'pino';

export type { DatabasePool };

// Synchronous on purpose: Slonik runs `transformRowAsync` through a p-queue with a promise per row,
// which cost more than the checking itself; our row schemas are plain zod objects, whose Standard
// Schema validation answers synchronously.
const resultParserInterceptor: Interceptor = {
  name: 'result-parser',
  transformRow: (context, query, row) => {
    const parser = context.resultParser;
    if (!parser) return row;
    const result = parser['~standard'].validate(row);
    if (result instanceof Promise) throw new TypeError('row schemas must validate synchronously (no async refinements)');
    if (result.issues) throw new SchemaValidationError(query, row, result.issues);
    return result.value as typeof row;
  },
};

// PostgreSQL renders timestamptz as '2026-11-23 18:00:00.123+00'; clients get RFC 3339 UTC. The
// columns are timestamptz(3), so nothing is lost converting through a JavaScript Date. A session in
// UTC (the usual case) is rewritten as text, which costs a fraction of parsing a Date per value.
const utcTimestamp = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,3}))?\+00$/;
const timestamptzAsIsoString: DriverTypeParser = {
  name: 'timestamptz',
  parse: (value: string) => {
    const utc = utcTimestamp.exec(value);
    if (!utc) return new Date(value).toISOString();
    return `${utc[1]}T${utc[2]}.${(utc[3] ?? '').padEnd(3, '0')}Z`;
  },
};

/**
 * Named prepared statements: PostgreSQL parses and plans each distinct statement once per
 * connection instead of at every execution (about a quarter of its CPU per request under `make
 * bench`). The name is derived from the text, so one text always has one name and two texts never
 * share one. Dynamic SQL comes only from fragments over whitelists, so there are few distinct texts;
 * past the bound, statements run unnamed as before rather than growing every backend's memory.
 */
const maxPreparedStatements = 500;
const preparedStatementNames = new Map<string, string>();

/**
 * Ends a statement whose best plan depends on its values: the task list (one owner has ten tasks,
 * another 100,000; a search word is rare or common; a due range is a day or a year). Such a
 * statement is not prepared, so PostgreSQL plans it for the values at hand every time instead of
 * settling on a generic plan after five executions. Measured by `make bench-queries` on 1,000,000
 * tasks: generic plans took `?q=report` from 0.6 ms to 136 ms and a due-range first page from
 * 0.9 ms to 80–160 ms.
 */
export const plannedForItsValues = sql.fragment` /* planned for its values */`;
const planPerExecutionMarker = plannedForItsValues.sql.trim();

const prepareStatements: Interceptor = {
  name: 'prepare-statements',
  transformQuery: (_context, query) => {
    if (query.sql.endsWith(planPerExecutionMarker)) return query;
    let name = preparedStatementNames.get(query.sql);
    if (name === undefined) {
      if (preparedStatementNames.size >= maxPreparedStatements) return query;
      name = `tasks_api_${createHash('sha256').update(query.sql).digest('hex').slice(0, 32)}`;
      preparedStatementNames.set(query.sql, name);
    }
    return { ...query, name };
  },
};

const typeParsers = [
  ...createTypeParserPreset().filter((parser) => parser.name !== 'timestamptz'),
  timestamptzAsIsoString,
];

export type PoolOptions = {
  readonly maxPoolSize: number;
  /** Extra interceptors, e.g. a test that records every statement the API issues. */
  readonly interceptors?: readonly Interceptor[];
  /** Named prepared statements (default true); off for a pooler that cannot keep them. */
  readonly preparedStatements?: boolean;
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

// How long a request waits for the database (a pooled connection, then the answer to one
// statement) before it gets a 503.
const databaseDeadlineMs = 5_000;

const databaseTooSlow = () => new ConnectionError(`The database did not answer within ${databaseDeadlineMs} ms.`);

function withDeadline<T>(work: Promise<T>, onExpiry: () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      onExpiry();
      reject(databaseTooSlow());
    }, databaseDeadlineMs);
    work.then(resolve, reject).finally(() => clearTimeout(deadline));
  });
}

/**
 * `statement_timeout` is enforced by the server, and Slonik has no client-side query timeout: a
 * statement sent on a pooled connection to a server that has stopped answering (a network
 * partition, a frozen proxy) would wait until TCP gives up, many minutes. Past the deadline the
 * statement fails with a ConnectionError (a 503), and Slonik destroys its connection.
 */
function withStatementDeadline(driverFactory: DriverFactory): DriverFactory {
  return async (input) => {
    const driver = await driverFactory(input);
    return {
      createClient: async () => {
        const client = await driver.createClient();
        // Slonik's destroy() detaches its own 'error' listener once gracefulTerminationTimeout has
        // passed, even if the socket has not closed yet; a socket error after that (the server
        // terminating the backend, a reset when the network returns) would be an 'error' event
        // with no listener, which crashes the process. Slonik has already logged and destroyed
        // the connection by then, so there is nothing left to do with the error.
        client.on('error', () => {});
        return { ...client, query: (...args) => withDeadline(client.query(...args), () => {}) };
      },
    };
  };
}

/**
 * A full pool queues a request until a pooled connection is released or destroyed; a connection
 * attempt that fails outright wakes no one. So in an outage, with more requests than connections,
 * a queued request would wait for the whole outage, then run its statement long after its client
 * was answered. Each call therefore has the same deadline, and a statement whose caller has given
 * up is refused when its turn comes instead of being sent.
 */
const callInProgress = new AsyncLocalStorage<{ abandoned: boolean }>();

const refuseAbandonedStatements: Interceptor = {
  name: 'refuse-abandoned-statements',
  beforeQueryExecution: () => {
    if (callInProgress.getStore()?.abandoned) throw databaseTooSlow();
    return null;
  },
};

// `transaction` too: its wait for a connection is the same queue, and its deadline covers the
// whole (short) transaction; a statement it issues after the deadline is refused, so it rolls back.
const statementMethods = new Set([
  'any',
  'anyFirst',
  'exists',
  'many',
  'manyFirst',
  'maybeOne',
  'maybeOneFirst',
  'one',
  'oneFirst',
  'query',
  'transaction',
]);

function withCallDeadline(pool: DatabasePool): DatabasePool {
  return new Proxy(pool, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !statementMethods.has(property) || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const call = { abandoned: false };
        return callInProgress.run(call, () =>
          withDeadline(value.apply(target, args) as Promise<unknown>, () => {
            call.abandoned = true;
          }),
        );
      };
    },
  });
}

export async function createDatabasePool(url: string, options: PoolOptions): Promise<DatabasePool> {
  const pool = await createPool(withDriverSslMode(url, 'slonik'), {
    driverFactory: withStatementDeadline(createPgDriverFactory()),
    interceptors: [
      refuseAbandonedStatements,
      resultParserInterceptor,
      ...(options.preparedStatements === false ? [] : [prepareStatements]),
      ...(options.interceptors ?? []),
    ],
    typeParsers,
    maxPoolSize: options.maxPoolSize,
    // Fail fast when PostgreSQL is unreachable: a request should get a 503 in seconds, not hang.
    connectionTimeout: 3_000,
    connectionRetryLimit: 1,
    statementTimeout: 10_000,
    // Destroying a connection waits this long for its running statement, then as long again for
    // the socket to close. The only statements still running then are past the query deadline, so
    // their answer is not coming: 1 s (Slonik's default is 5 s) frees a dead connection quickly,
    // while a healthy close (a millisecond or two, e.g. at pool.end()) still completes in time.
    gracefulTerminationTimeout: 1_000,
    idleInTransactionSessionTimeout: 10_000,
    // Our statements never change session state (no SET, temp tables or named statements), so
    // Slonik's default DISCARD ALL on every release would only add a round trip to each query.
    resetConnection: async () => {},
  });
  return withCallDeadline(pool);
}

/**
 * Boot-time connect: Slonik's createPool connects eagerly and does not retry, so a database that
 * is unreachable or still starting is retried with backoff until `deadlineMs`, then the last
 * error is thrown for the caller to report. Errors that waiting cannot cure are thrown at once.
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
      // A wrong password, a missing database or a TLS mismatch will not fix itself: fail now.
      if (!isDatabaseUnavailable(error) || elapsedMs + delayMs > options.deadlineMs) throw error;
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

// A module constant: zod compiles a parser per schema object, on its first row.
const pingRow = z.object({ answers: z.literal(1) });

/** One round trip that proves the database answers (for /ready). */
export async function pingDatabase(db: DatabasePool): Promise<void> {
  await db.oneFirst(sql.type(pingRow)`select 1 as answers`);
}
