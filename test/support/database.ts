// The PostgreSQL server the suite runs against: a fresh embedded server in a temporary folder
// (started once per run by hooks.ts), or the server of TEST_DATABASE_URL. Either way each run
// works in brand-new databases it creates, so runs never see each other's rows. With
// TEST_THROUGH_PGBOUNCER=1 (`make test-pgbouncer`) every database URL handed out goes through a real
// PgBouncer in transaction mode in front of that server, as Neon's pooled connection string does.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/database/embedded-postgres.ts';
import { migrate } from '../../src/database/migrations.ts';
import { createLogger } from '../../src/logger.ts';
import { startPgBouncer, type PgBouncer } from './pgbouncer.ts';

export const silentLog = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

let embedded: EmbeddedPostgres | undefined;
let embeddedDirectory: string | undefined;
let serverUrl: string | undefined;
let mainDatabaseUrl: string | undefined;
const createdDatabases: string[] = [];
let pgBouncer: PgBouncer | undefined;

/** True when this run sends the tests' database traffic through PgBouncer (make test-pgbouncer). */
export const throughPgBouncer = process.env.TEST_THROUGH_PGBOUNCER === '1';

export async function startTestDatabaseServer(): Promise<void> {
  if (process.env.TEST_DATABASE_URL) {
    serverUrl = process.env.TEST_DATABASE_URL;
  } else {
    embeddedDirectory = await mkdtemp(path.join(os.tmpdir(), 'tasks-api-test-'));
    // mkdtemp makes it private; under root, PostgreSQL runs as the `postgres` user and must enter it.
    await chmod(embeddedDirectory, 0o755);
    embedded = await startEmbeddedPostgres({ dataDirectory: embeddedDirectory, databaseName: 'postgres', log: silentLog });
    serverUrl = embedded.url;
  }
  if (throughPgBouncer) pgBouncer = await startPgBouncer(serverUrl);
  mainDatabaseUrl = await createMigratedDatabase('main');
}

/** The PgBouncer of this run (make test-pgbouncer), if any. */
export function testPgBouncer(): PgBouncer | undefined {
  return pgBouncer;
}

/** `databaseUrl` straight to the PostgreSQL server, bypassing the run's PgBouncer if there is one. */
export function directDatabaseUrl(databaseUrl: string): string {
  if (!serverUrl) throw new Error('the test database server is not started (test/support/hooks.ts)');
  const url = new URL(databaseUrl);
  const server = new URL(serverUrl);
  url.host = server.host;
  return url.toString();
}

export async function stopTestDatabaseServer(): Promise<void> {
  await pgBouncer?.stop();
  if (embedded) {
    await embedded.stop();
    await rm(embeddedDirectory!, { recursive: true, force: true });
  } else if (serverUrl) {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    for (const name of createdDatabases) await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

/** The migrated database most tests share (each test makes its own users, so they never collide). */
export function testDatabaseUrl(): string {
  if (!mainDatabaseUrl) throw new Error('the test database server is not started (test/support/hooks.ts)');
  return mainDatabaseUrl;
}

/** A new, empty database on the test server, for tests that need one to themselves. */
export async function createEmptyDatabase(label: string): Promise<string> {
  if (!serverUrl) throw new Error('the test database server is not started (test/support/hooks.ts)');
  const name = `tasks_test_${label.replaceAll(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  createdDatabases.push(name);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return pgBouncer ? pgBouncer.urlFor(url.toString()) : url.toString();
}

export async function createMigratedDatabase(label: string): Promise<string> {
  const url = await createEmptyDatabase(label);
  await migrate(url, silentLog);
  return url;
}

/** Runs SQL directly against a database, for arranging or inspecting state a test needs. */
export async function withSqlClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
