// `make migrate`: applies pending migrations to DATABASE_MIGRATION_URL or DATABASE_URL, or to the
// embedded database under DATA_DIR when neither is set. The server also migrates at every start; this target is
// for deployments that run migrations as a separate step before rolling out new instances.
import { loadConfig } from '../src/config.ts';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.ts';
import { migrate } from '../src/database/migrations.ts';
import { createLogger } from '../src/logger.ts';

const config = loadConfig();
const log = createLogger(config.logLevel);
// DATABASE_MIGRATION_URL first: the direct (not pooled) connection when the app's goes through a pooler.
const targetUrl = config.databaseMigrationUrl ?? config.databaseUrl;
const embedded = targetUrl
  ? undefined
  : await startEmbeddedPostgres({ dataDirectory: config.dataDirectory, databaseName: 'tasks', log });
try {
  const applied = await migrate(targetUrl ?? embedded!.url, log);
  log.info({ applied }, applied.length > 0 ? `applied ${applied.length} migration(s)` : 'database is up to date');
} catch (error) {
  log.fatal({ err: error }, 'migration failed');
  process.exitCode = 1;
} finally {
  await embedded?.stop();
}
