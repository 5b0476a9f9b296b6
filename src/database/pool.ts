// The one place a database pool is created: rows checked and timestamps as text (rows.ts), named
// statements with a fallback for poolers that lose them (prepared-statements.ts), deadlines
// (deadlines.ts), sslmode (ssl-mode.ts); and the boot-time connect that retries only what waiting
// can cure (errors.ts says which errors those are).
import { createPgDriverFactory } from '@slonik/pg-driver';
import { createPool, sql, type DatabasePool, type Interceptor } from 'slonik';
import { z } from 'zod';
import type { Logger } from 'pino';
import { refuseAbandonedStatements, statementMethods, withCallDeadline, withStatementDeadline } from './deadlines.ts';
import { classifyDatabaseError, describeDatabaseError } from './errors.ts';
import { statementNaming, type StatementNaming } from './prepared-statements.ts';
import { resultParserInterceptor, typeParsers } from './rows.ts';
import { withDriverSslMode } from './ssl-mode.ts';

export type { DatabasePool };

export type PoolOptions = {
  readonly maxPoolSize: number;
  /** Extra interceptors, e.g. a test that records every statement the API issues. */
  readonly interceptors?: readonly Interceptor[];
  /** Named prepared statements (default true); off for a pooler that cannot keep them. */
  readonly preparedStatements?: boolean;
  /** Where the one warning goes when a pooler loses a named statement (default: nowhere). */
  readonly log?: Logger;
};

export async function createDatabasePool(url: string, options: PoolOptions): Promise<DatabasePool> {
  const naming = statementNaming(options.preparedStatements ?? true);
  const pool = await createPool(withDriverSslMode(url, 'slonik'), {
    driverFactory: withStatementDeadline(createPgDriverFactory()),
    interceptors: [refuseAbandonedStatements, resultParserInterceptor, naming.interceptor, ...(options.interceptors ?? [])],
    typeParsers,
    maxPoolSize: options.maxPoolSize,
    // Fail fast when PostgreSQL is unreachable: a request should get a 503 in seconds, not hang.
    connectionTimeout: 3_000,
    connectionRetryLimit: 1,
    // Nothing is sent as a start-up parameter: a transaction pooler refuses statement_timeout and
    // idle_in_transaction_session_timeout there (PgBouncer: 08P01 unsupported startup parameter),
    // or, told to ignore them, drops them silently. The limits live in deadlines.ts instead.
    statementTimeout: 'DISABLE_TIMEOUT',
    idleInTransactionSessionTimeout: 'DISABLE_TIMEOUT',
    // Destroying a connection waits this long for its running statement, then as long again for
    // the socket to close. The only statements still running then are past the query deadline, so
    // their answer is not coming: 1 s (Slonik's default is 5 s) frees a dead connection quickly,
    // while a healthy close (a millisecond or two, e.g. at pool.end()) still completes in time.
    gracefulTerminationTimeout: 1_000,
    // Slonik's default runs DISCARD ALL when a connection goes back to the pool. That would
    // deallocate our named prepared statements, while the driver still believes they exist: the
    // next use of each would fail with 26000. Nothing else of ours outlives a statement on a
    // connection (no SET outside SET LOCAL, no temporary tables, no session advisory locks), so no
    // reset is needed.
    resetConnection: async () => {},
  });
  return withPreparedStatementFallback(withCallDeadline(pool), naming, options.log);
}

/**
 * A call that failed because a pooler lost one of our named statements did nothing (the statement
 * never ran; a transaction rolled back), so it runs once more, unnamed, after naming is turned off.
 */
function withPreparedStatementFallback(pool: DatabasePool, naming: StatementNaming, log: Logger | undefined): DatabasePool {
  return new Proxy(pool, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !statementMethods.has(property) || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        try {
          return await (value.apply(target, args) as Promise<unknown>);
        } catch (error) {
          if (classifyDatabaseError(error).kind !== 'prepared-statement-lost') throw error;
          if (naming.turnOff()) {
            log?.warn(
              { reason: describeDatabaseError(error, 'DATABASE_URL') },
              'the database connection lost a named prepared statement: DATABASE_URL goes through a transaction pooler that does not keep them ' +
                '(PgBouncer before 1.21, or max_prepared_statements = 0); running statements unnamed from now on. ' +
                'Set DATABASE_PREPARED_STATEMENTS=false to start that way.',
            );
          }
          return value.apply(target, args) as Promise<unknown>;
        }
      };
    },
  });
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
  return retryWhileUnavailable(() => createDatabasePool(url, options), options);
}

/** Runs `work` again with backoff while it fails because the database is not there (yet), up to `deadlineMs`. */
export async function retryWhileUnavailable<T>(
  work: () => Promise<T>,
  options: { readonly deadlineMs: number; readonly log: Logger },
): Promise<T> {
  const startedAt = Date.now();
  for (let attempt = 1, delayMs = 250; ; attempt += 1, delayMs = Math.min(delayMs * 2, 4_000)) {
    try {
      return await work();
    } catch (error) {
      const elapsedMs = Date.now() - startedAt;
      // A wrong password, a missing database or a TLS mismatch will not fix itself: fail now.
      if (classifyDatabaseError(error).kind !== 'unavailable' || elapsedMs + delayMs > options.deadlineMs) throw error;
      options.log.warn(
        { attempt, retryInMs: delayMs, reason: describeDatabaseError(error, 'DATABASE_URL') },
        'database not reachable yet; retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

// A module constant: zod compiles a parser per schema object, on its first row.
const pingRow = z.object({ answers: z.literal(1) });

/** One round trip that proves the database answers (for /ready). */
export async function pingDatabase(db: DatabasePool): Promise<void> {
  await db.oneFirst(sql.type(pingRow)`select 1 as answers`);
}
