// `make migrate`, and the container's release step: applies pending migrations to
// DATABASE_MIGRATION_URL or DATABASE_URL, or to the embedded database under DATA_DIR when neither is
// set (outside production). The server also migrates at every start (MIGRATE_ON_START); this is for
// deployments that run migrations as a separate step before rolling out new instances. It needs
// only a database URL: no token verification, no HTTP settings.
import '../src/check-node.js';
import { ConfigError, loadConfig, type Config } from '../src/config.ts';
import { onStopSignals, startDatabase, startFailureLine } from '../src/database/startup.ts';
import { createLogger } from '../src/logger.ts';

let config: Config;
try {
  config = loadConfig(process.env, { purpose: 'migrate' });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`tasks-api cannot migrate. ${error.message}`);
  process.exit(1);
}
const log = createLogger(config.logLevel, { format: config.logFormat, environment: config.environment });
const database = startDatabase(config, log, 'migrate');
let stopping = false;
onStopSignals((signal) => {
  if (stopping) return;
  stopping = true;
  log.info({ reason: signal }, 'interrupted; stopping');
  void database.stop().then(() => process.exit(1));
});
try {
  const { applied } = await database.started;
  log.info({ applied }, applied.length > 0 ? `applied ${applied.length} migration(s)` : 'database is up to date');
} catch (error) {
  log.fatal(`migration failed: ${startFailureLine(error)}`);
  process.exitCode = 1;
} finally {
  if (!stopping) await database.stop();
}
