// The one database start-up, for the server (src/server.ts), the cluster primary (src/workers.ts)
// and the release step (scripts/migrate.ts): choose the embedded PostgreSQL or DATABASE_URL,
// migrate, connect, check what the server allows; and the reverse, in order, however far the start
// got. Every failure becomes one line naming what to fix (DatabaseStartError), never a stack.
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { checkServerCapacity } from './capacity.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.ts';
import { classifyDatabaseError, describeDatabaseError } from './errors.ts';
import { migrate } from './migrations.ts';
import { connectWithRetry, retryWhileUnavailable, type DatabasePool } from './pool.ts';

/** A start-up failure, already worded for the operator as one line. */
export class DatabaseStartError extends Error {
  override name = 'DatabaseStartError';
}

export type Purpose =
  /** Serve requests: a pool; migrations when MIGRATE_ON_START (not in a cluster worker: the primary did them). */
  | 'serve'
  /** The cluster primary: migrations when MIGRATE_ON_START, no pool; workers get the URL. */
  | 'cluster-primary'
  /** The release step: migrations, always; no pool. */
  | 'migrate';

export type StartedDatabase = {
  /** What the pool (and the workers) connect to: DATABASE_URL or the embedded server's. */
  readonly url: string;
  readonly embedded: boolean;
  readonly pool: DatabasePool | undefined;
  /** The migrations this start applied. */
  readonly applied: readonly string[];
};

export type DatabaseStart = {
  readonly started: Promise<StartedDatabase>;
  /** Closes the pool and stops the embedded server, waiting for a start still in progress first. */
  readonly stop: () => Promise<void>;
};

export function startDatabase(config: Config, log: Logger, purpose: Purpose): DatabaseStart {
  let embedded: EmbeddedPostgres | undefined;
  let embeddedStarting: Promise<EmbeddedPostgres> | undefined;
  let pool: DatabasePool | undefined;

  const started = (async (): Promise<StartedDatabase> => {
    let url = config.databaseUrl;
    if (!url) {
      embeddedStarting = startEmbeddedPostgres({ dataDirectory: config.dataDirectory, databaseName: 'tasks', log });
      embedded = await embeddedStarting;
      url = embedded.url;
      log.info({ port: embedded.port, directory: config.dataDirectory }, 'embedded PostgreSQL is running (no DATABASE_URL set)');
    }
    const isWorker = cluster.isWorker;
    const waiting = { deadlineMs: config.databaseWaitSeconds * 1000, log };
    let applied: string[] = [];
    if (purpose === 'migrate' || (config.migrateOnStart && !isWorker)) {
      // DATABASE_MIGRATION_URL first: the direct (not pooled) connection when DATABASE_URL goes through a pooler.
      const migrationUrl = config.databaseMigrationUrl ?? url;
      const setting = config.databaseMigrationUrl ? 'DATABASE_MIGRATION_URL' : 'DATABASE_URL';
      applied = await failingWith(setting, () =>
        retryWhileUnavailable(() => migrate(migrationUrl, log, undefined, { lockWaitSeconds: config.databaseWaitSeconds }), waiting),
      );
    }
    if (purpose !== 'migrate' && !isWorker) {
      await checkServerCapacity(url, { poolMax: config.databasePoolMax, processes: config.webConcurrency }, log);
    }
    if (purpose === 'serve') {
      const target = url;
      pool = await failingWith('DATABASE_URL', () =>
        connectWithRetry(target, {
          maxPoolSize: config.databasePoolMax,
          preparedStatements: config.databasePreparedStatements,
          ...waiting,
        }),
      );
    }
    return { url, embedded: embedded !== undefined, pool, applied };
  })();
  // The caller learns of a failure through `started`; this keeps it from also being unhandled.
  started.catch(() => {});

  return {
    started,
    stop: async () => {
      await pool?.end().catch((error: unknown) => log.warn({ reason: String(error) }, 'closing the pool failed'));
      // A signal during the first start arrives while initdb runs: exiting then would leave initdb
      // running on its own. Let the start finish, then stop it.
      embedded ??= await embeddedStarting?.catch(() => undefined);
      await embedded?.stop().catch((error: unknown) => log.warn({ reason: String(error) }, 'stopping PostgreSQL failed'));
    },
  };

  async function failingWith<T>(setting: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DatabaseStartError) throw error;
      const { kind } = classifyDatabaseError(error);
      const line = describeDatabaseError(error, setting);
      throw new DatabaseStartError(
        kind === 'unavailable'
          ? `the database at ${setting} is still unreachable after ${config.databaseWaitSeconds}s (DATABASE_WAIT_SECONDS); exiting: ${line}`
          : line,
        { cause: error },
      );
    }
  }
}

/** The one-line reason a start failed, for `log.fatal`: never a stack trace. */
export function startFailureLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replaceAll(/\s+/g, ' ').trim();
}

/**
 * SIGINT and SIGTERM call `stop`. `on`, not `once`: with the default action restored after the
 * first signal, a second Ctrl-C would kill the process with its pool, its workers or the embedded
 * PostgreSQL still running; `stop` must ignore calls after the first itself.
 */
export function onStopSignals(stop: (signal: NodeJS.Signals) => void): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop(signal));
}
