// Entry point: config → database (embedded unless DATABASE_URL) → migrations → HTTP server, and
// the reverse on SIGINT/SIGTERM: stop accepting, let in-flight requests finish, close the pool,
// stop the embedded database, exit 0.
import type { Server } from 'node:http';
import { createApp } from './app.ts';
import { authOptionsFor, createAuthenticator, type AuthOptions } from './auth.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './database/embedded-postgres.ts';
import { migrate } from './database/migrations.ts';
import { connectWithRetry, describeConnectError, isDatabaseUnavailable, type DatabasePool } from './database/pool.ts';
import { createLogger, type Logger } from './logger.ts';
import { isClusterPrimary, runClusterPrimary } from './workers.ts';

const shutdownGraceMs = 10_000;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`tasks-api cannot start. ${error.message}`);
    process.exit(1);
  }
  const log = createLogger(config.logLevel, { format: config.logFormat, environment: config.environment });
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled promise rejection'));
  if (isClusterPrimary(config)) return runClusterPrimary(config, log);

  let embedded: EmbeddedPostgres | undefined;
  let embeddedStarting: Promise<EmbeddedPostgres> | undefined;
  let pool: DatabasePool | undefined;
  let server: Server | undefined;
  let shuttingDown = false;

  const shutdown = async (reason: string, exitCode: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ reason }, 'shutting down');
    if (server) await closeServer(server, log);
    await pool?.end().catch((error: unknown) => log.warn({ err: error }, 'closing the pool failed'));
    // A signal during the first start arrives while initdb runs: exiting then would leave initdb
    // running on its own and its password file in the temp folder. Let the start finish, then stop it.
    embedded ??= await embeddedStarting?.catch(() => undefined);
    await embedded?.stop().catch((error: unknown) => log.warn({ err: error }, 'stopping PostgreSQL failed'));
    log.info('stopped');
    process.exit(exitCode);
  };
  process.once('SIGINT', () => void shutdown('SIGINT', 0));
  process.once('SIGTERM', () => void shutdown('SIGTERM', 0));

  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      embeddedStarting = startEmbeddedPostgres({ dataDirectory: config.dataDirectory, databaseName: 'tasks', log });
      embedded = await embeddedStarting;
      databaseUrl = embedded.url;
      log.info({ port: embedded.port, directory: config.dataDirectory }, 'embedded PostgreSQL is running (no DATABASE_URL set)');
    }
    pool = await connectWithRetry(databaseUrl, {
      maxPoolSize: config.databasePoolMax,
      preparedStatements: config.databasePreparedStatements,
      deadlineMs: config.databaseWaitSeconds * 1000,
      log,
    });
    await migrate(databaseUrl, log);
  } catch (error) {
    const reason = describeConnectError(error);
    log.fatal(
      { reason },
      isDatabaseUnavailable(error)
        ? `database still unreachable after ${config.databaseWaitSeconds}s (DATABASE_WAIT_SECONDS); exiting: ${reason}`
        : `database not usable; exiting: ${reason}`,
    );
    await shutdown('start-up failed', 1);
    return;
  }

  const authOptions = await authOptionsFor(config);
  const app = createApp({
    context: { db: pool, isShuttingDown: () => shuttingDown },
    authenticate: createAuthenticator(authOptions),
    log,
    bodyLimitBytes: config.bodyLimitBytes,
    validateResponses: config.validateResponses,
    metricsToken: config.metricsToken,
    rateLimits: config.rateLimits,
    trustProxy: config.trustProxy,
    urlLimitBytes: config.urlLimitBytes,
    corsOrigins: config.corsOrigins,
  });

  server = app.listen(config.port, config.host);
  server.requestTimeout = 30_000;
  server.headersTimeout = 20_000;
  // Longer than the usual load-balancer idle timeout (60 s), so the balancer closes idle connections first.
  server.keepAliveTimeout = 65_000;
  server.on('error', (error: NodeJS.ErrnoException) => {
    log.fatal(
      { reason: describeConnectError(error) },
      error.code === 'EADDRINUSE' ? `port ${config.port} is already in use; set PORT to another one` : 'server failed',
    );
    void shutdown('listen failed', 1);
  });
  server.on('listening', () => {
    const address = server!.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://localhost:${port}`;
    log.info({ url, environment: config.environment, auth: describeAuth(authOptions, config) }, `tasks-api listening on ${url}`);
    if (config.auth.mode === 'development-secret') {
      log.info(
        `get a development token: make token USER=alice   then: curl -H "Authorization: Bearer <token>" ${url}/api/tasks`,
      );
    }
  });
}

function describeAuth(auth: AuthOptions, config: Config): string[] {
  return [
    auth.jwks && `JWKS ${auth.jwks.jwksUrl.href}`,
    auth.secret && (config.auth.mode === 'development-secret' ? 'HS256 development secret (DATA_DIR/dev-jwt-secret)' : 'HS256 BETTER_AUTH_SECRET'),
  ].filter((entry): entry is string => typeof entry === 'string');
}

async function closeServer(server: Server, log: Logger): Promise<void> {
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      log.warn({ graceMs: shutdownGraceMs }, 'requests still running after the grace period; closing their connections');
      server.closeAllConnections();
    }, shutdownGraceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    // Idle keep-alive connections would otherwise hold close() open until they time out.
    server.closeIdleConnections();
  });
}

await main();
