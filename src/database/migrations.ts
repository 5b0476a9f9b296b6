// Forward-only migrations: sql/NNNN_what_it_does.sql, applied in order, each once, recorded with a
// SHA-256 of its text. One transaction applies the pending ones, each under its own savepoint (a
// failing migration is undone completely; those before it stay applied). The transaction first
// takes a transaction-scoped advisory lock, so concurrent starts of several instances are safe (one
// applies, the others wait, then find nothing to do), and the lock ends with the transaction whatever
// happens: through a transaction pooler (Neon's pooled endpoint, PgBouncer) a session lock would
// stay held by the pooler's idle server connection after we disconnect, and block every later start.
// Waiting for another instance's lock is bounded (lock_timeout) and logged.
//
// A plain pg client runs them, not Slonik: a migration file holds many statements, which only the
// simple query protocol accepts and Slonik deliberately refuses.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { classifyDatabaseError } from './errors.ts';
import { withDriverSslMode } from './ssl-mode.ts';

export const migrationsDirectory = path.resolve(import.meta.dirname, '../../sql');

// An arbitrary constant shared by every instance of this service: "tasks-api migrations".
export const migrationLockKey = 7_301_150_442_021_001;

const migrationFilePattern = /^(\d{4})_[a-z0-9_]+\.sql$/;

type MigrationFile = { readonly version: string; readonly name: string; readonly text: string; readonly checksum: string };

export class MigrationError extends Error {
  override name = 'MigrationError';
}

async function readMigrationFiles(directory = migrationsDirectory): Promise<MigrationFile[]> {
  const names = (await readdir(directory)).filter((name) => migrationFilePattern.test(name)).sort();
  const files = await Promise.all(
    names.map(async (name) => {
      const text = await readFile(path.join(directory, name), 'utf8');
      const version = migrationFilePattern.exec(name)![1]!;
      return { version, name, text, checksum: createHash('sha256').update(text).digest('hex') };
    }),
  );
  const versions = new Set<string>();
  for (const file of files) {
    if (versions.has(file.version)) throw new MigrationError(`Two migrations share version ${file.version}.`);
    versions.add(file.version);
  }
  return files;
}

type AppliedMigration = { version: string; name: string; checksum: string };

export type MigrateOptions = {
  /** How long to wait for another instance's migration lock before giving up (default 30). */
  readonly lockWaitSeconds?: number;
};

/** The files not applied yet, after checking that none of the applied ones was edited since. */
async function pendingAfterChecks(client: pg.Client, files: readonly MigrationFile[], log: Logger): Promise<MigrationFile[]> {
  await client.query(`
    create table if not exists schema_migrations (
      version    text primary key,
      name       text not null,
      checksum   text not null,
      applied_at timestamptz not null default now()
    )`);
  const { rows: applied } = await client.query<AppliedMigration>('select version, name, checksum from schema_migrations order by version');
  const appliedByVersion = new Map(applied.map((row) => [row.version, row]));
  for (const file of files) {
    const record = appliedByVersion.get(file.version);
    if (record && record.checksum !== file.checksum) {
      throw new MigrationError(
        `Migration ${file.name} was edited after it was applied (its checksum differs from the recorded one). ` +
          'Landed migrations are never edited: restore it and add a new migration instead.',
      );
    }
  }
  const known = new Set(files.map((file) => file.version));
  for (const record of applied) {
    // A newer release already migrated this database; additive migrations keep older code working.
    if (!known.has(record.version)) log.warn({ migration: record.name }, 'database has a migration this code does not know');
  }
  return files.filter((file) => !appliedByVersion.has(file.version));
}

/** Applies pending migrations; returns the names of those it applied. */
export async function migrate(
  databaseUrl: string,
  log: Logger,
  directory = migrationsDirectory,
  options: MigrateOptions = {},
): Promise<string[]> {
  const files = await readMigrationFiles(directory);
  const lockWaitSeconds = options.lockWaitSeconds ?? 30;
  const client = new pg.Client({
    connectionString: withDriverSslMode(databaseUrl, 'pg'),
    application_name: 'tasks-api migrations',
    connectionTimeoutMillis: 10_000,
  });
  // A dropped connection mid-migration surfaces as a rejected query; this only stops an 'error'
  // event from crashing the process in between.
  client.on('error', (error) => log.warn({ reason: error.message }, 'migration connection error'));
  await client.connect();

  // Begins a transaction that holds the migration lock until it ends.
  const beginLocked = async () => {
    await client.query('begin');
    const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_xact_lock($1) as locked', [migrationLockKey]);
    if (rows[0]!.locked) return;
    log.info({ lockWaitSeconds }, `another instance is migrating; waiting up to ${lockWaitSeconds}s for its migration lock`);
    const waitingSince = Date.now();
    await client.query(`set local lock_timeout = '${lockWaitSeconds * 1000}ms'`);
    try {
      await client.query('select pg_advisory_xact_lock($1)', [migrationLockKey]);
    } catch (error) {
      if (classifyDatabaseError(error).kind !== 'lock-not-available') throw error;
      throw new MigrationError(
        `another instance held the migration lock for more than ${lockWaitSeconds}s (DATABASE_WAIT_SECONDS); ` +
          'its migration is still running, or it is stuck: see pg_locks where locktype = \'advisory\'',
        { cause: error },
      );
    }
    // The bound was for this wait only, not for the migrations' own locks.
    await client.query('set local lock_timeout to default');
    log.info({ waitedMs: Date.now() - waitingSince }, 'got the migration lock');
  };

  try {
    await beginLocked();
    try {
      const pending = await pendingAfterChecks(client, files, log);
      const appliedNames: string[] = [];
      for (const file of pending) {
        // A savepoint per migration: a failing one is undone completely, the ones before it stay.
        await client.query('savepoint migration');
        try {
          await client.query(file.text);
          await client.query('insert into schema_migrations (version, name, checksum) values ($1, $2, $3)', [
            file.version,
            file.name,
            file.checksum,
          ]);
          await client.query('release savepoint migration');
        } catch (error) {
          await client.query('rollback to savepoint migration');
          await client.query('commit');
          throw new MigrationError(`Migration ${file.name} failed: ${(error as Error).message}`, { cause: error });
        }
        appliedNames.push(file.name);
      }
      await client.query('commit');
      for (const name of appliedNames) log.info({ migration: name }, 'applied migration');
      return appliedNames;
    } catch (error) {
      await client.query('rollback').catch(() => {});
      throw error;
    }
  } finally {
    await client.end().catch(() => {});
  }
}
