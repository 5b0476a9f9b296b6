// Forward-only migrations: sql/NNNN_what_it_does.sql, applied in order, each once, each in its own
// transaction, recorded with a SHA-256 of its text. A session advisory lock makes concurrent starts
// of several instances safe: one applies, the others wait and then find nothing to do.
//
// A plain pg client runs them, not Slonik: a migration file holds many statements, which only the
// simple query protocol accepts and Slonik deliberately refuses.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { withDriverSslMode } from './pool.ts';

export const migrationsDirectory = path.resolve(import.meta.dirname, '../../sql');

// An arbitrary constant shared by every instance of this service: "tasks-api migrations".
const migrationLockKey = 7_301_150_442_021_001;

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

/** Applies pending migrations; returns the names of those it applied. */
export async function migrate(databaseUrl: string, log: Logger, directory = migrationsDirectory): Promise<string[]> {
  const files = await readMigrationFiles(directory);
  const client = new pg.Client({
    connectionString: withDriverSslMode(databaseUrl, 'pg'),
    application_name: 'tasks-api migrations',
    connectionTimeoutMillis: 10_000,
  });
  // A dropped connection mid-migration surfaces as a rejected query; this only stops an 'error'
  // event from crashing the process in between.
  client.on('error', (error) => log.warn({ reason: error.message }, 'migration connection error'));
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [migrationLockKey]);
    await client.query(`
      create table if not exists schema_migrations (
        version    text primary key,
        name       text not null,
        checksum   text not null,
        applied_at timestamptz not null default now()
      )`);
    const { rows: applied } = await client.query<AppliedMigration>(
      'select version, name, checksum from schema_migrations order by version',
    );
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
    const pending = files.filter((file) => !appliedByVersion.has(file.version));
    for (const file of pending) {
      await client.query('begin');
      try {
        await client.query(file.text);
        await client.query('insert into schema_migrations (version, name, checksum) values ($1, $2, $3)', [
          file.version,
          file.name,
          file.checksum,
        ]);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw new MigrationError(`Migration ${file.name} failed: ${(error as Error).message}`, { cause: error });
      }
      log.info({ migration: file.name }, 'applied migration');
    }
    return pending.map((file) => file.name);
  } finally {
    // Closing the session releases the advisory lock too.
    await client.end().catch(() => {});
  }
}
