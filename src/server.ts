// Entry point: config → database (embedded unless DATABASE_URL) → migrations → HTTP server, and
// the reverse on SIGINT/SIGTERM: /ready answers 503 at once, optionally keep serving for
// SHUTDOWN_DRAIN_SECONDS (so a load balancer sees it and stops routing here), stop accepting,
// close idle connections, let in-flight requests finish within SHUTDOWN_GRACE_SECONDS, close the
// pool, stop the embedded database, exit 0 (1 when the grace period ran out).
import './check-node.js';
import { createServer, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { createApp, createWorkerApp } from './app.ts';
import { authOptionsFor, createAuthenticator, type AuthOptions } from './auth.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import type { DatabasePool } from './database/pool.ts';
import { onStopSignals, startDatabase, startFailureLine, type DatabaseStart } from './database/startup.ts';
import type { VapidKeys } from './contract.ts';
import { startDeliveryWorker, type DeliveryWorker } from './delivery-worker.ts';
import { readOrCreateDevVapidKeys } from './dev-secret.ts';
import { createLogger, flushLog, type Logger } from './logger.ts';
import { problemFor } from './problems.ts';
import { isClusterPrimary, runClusterPrimary } from './workers.ts';

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

  let database: DatabaseStart | undefined;
  let pool: DatabasePool | undefined;
  let server: Server | undefined;
  let worker: DeliveryWorker | undefined;
  let shuttingDown = false;
  let onShutdown = () => {};

  const shutdown = async (reason: string, exitCode: number) => {
    if (shuttingDown) {
      log.info({ reason }, 'already shutting down');
      return;
    }
    // From here /ready answers 503 and every response asks its client to close the connection.
    shuttingDown = true;
    onShutdown();
    log.info({ reason, drainMs: config.shutdown.drainMs, graceMs: config.shutdown.graceMs }, 'shutting down');
    if (server?.listening && exitCode === 0 && config.shutdown.drainMs > 0) {
      log.info('draining: /ready answers 503 while requests are still served (SHUTDOWN_DRAIN_SECONDS)');
      await new Promise((resolve) => setTimeout(resolve, config.shutdown.drainMs));
    }
    // Requests and deliveries in flight finish side by side, within the same grace period.
    const [serverClosed, workerStopped] = await Promise.all([
      server ? closeServer(server, config.shutdown.graceMs, log) : true,
      worker ? worker.stop(config.shutdown.graceMs) : true,
    ]);
    if (!workerStopped) log.error({ graceMs: config.shutdown.graceMs }, 'deliveries still running after SHUTDOWN_GRACE_SECONDS; leaving them to be retried');
    if (!serverClosed || !workerStopped) exitCode = 1;
    await database?.stop();
    log.info({ exitCode }, 'stopped');
    await flushLog(log);
    process.exit(exitCode);
  };
  onStopSignals((signal) => void shutdown(signal, 0));

  try {
    database = startDatabase(config, log, 'serve');
    pool = (await database.started).pool!;
  } catch (error) {
    log.fatal(`tasks-api cannot start: ${startFailureLine(error)}`);
    await shutdown('start-up failed', 1);
    return;
  }

  const vapid = await vapidKeysFor(config);
  if (config.delivery.push.mode === 'off') log.warn('Web Push is off (PUSH=off): reminders reach webhooks and GET /api/reminders/due only');
  const { delivery } = config;
  if (delivery.worker !== 'off') {
    worker = startDeliveryWorker({
      db: pool,
      log,
      pollMs: delivery.pollMs,
      concurrency: delivery.concurrency,
      retryBaseMs: delivery.retryBaseMs,
      giveUpMs: delivery.giveUpMs,
      webhookDisableAfterMs: delivery.webhookDisableAfterMs,
      outbound: { allowLoopback: delivery.allowLoopback, timeoutMs: delivery.timeoutMs, maxResponseBytes: 64 * 1024 },
      vapid,
    });
  }
  // WORKER=only: this process fires reminders and makes deliveries, and serves no API: on HOST and
  // PORT only /health, /ready and /metrics, so it can be health-checked and scraped like the API
  // (the image's HEALTHCHECK works for it unchanged).
  const workerOnly = config.delivery.worker === 'only';
  const context = { db: pool, isShuttingDown: () => shuttingDown, vapid, allowLoopback: delivery.allowLoopback };
  const operating = {
    context,
    log,
    metricsToken: config.metricsToken,
    rateLimits: config.rateLimits,
    trustProxy: config.trustProxy,
    urlLimitBytes: config.urlLimitBytes,
  };
  const authOptions = workerOnly ? undefined : await authOptionsFor(config);
  const app = authOptions
    ? createApp({
        ...operating,
        authenticate: createAuthenticator(authOptions),
        bodyLimitBytes: config.bodyLimitBytes,
        validateResponses: config.validateResponses,
        corsOrigins: config.corsOrigins,
      })
    : createWorkerApp(operating);

  // Responses still being prepared when shutdown starts, so each can ask its client to close.
  const inFlight = new Set<ServerResponse>();
  server = createServer(
    {
      // Longer than the usual load-balancer idle timeout (ALB: 60 s), so the balancer, not the
      // server, closes an idle connection: never one the balancer is just sending a request on.
      keepAliveTimeout: config.http.keepAliveTimeoutMs,
      // Counted from a request's first byte, not from when its connection went idle (so Node 24
      // behaves; test/process/http-limits.test.ts holds it), so it can be shorter than
      // keepAliveTimeout: a client that trickles
      // its headers (slow loris) is cut off with 408 after this long.
      headersTimeout: config.http.headersTimeoutMs,
      // The whole request (headers and body) must have arrived within this; the handler's own time
      // is bounded by the database deadline (src/database/deadlines.ts).
      requestTimeout: config.http.requestTimeoutMs,
      // Node checks the two timeouts above on this period (default 30 s, far coarser than them).
      connectionsCheckingInterval: Math.min(1_000, config.http.headersTimeoutMs / 2),
      // A larger header block gets 431 from Node itself.
      maxHeaderSize: config.http.maxHeaderBytes,
    },
    (request, response) => {
      if (shuttingDown) response.shouldKeepAlive = false;
      inFlight.add(response);
      response.once('close', () => {
        inFlight.delete(response);
        // Once the listener is closed, a keep-alive connection that was mid-request is idle now:
        // close it. (Not while draining: a client may be sending its next request on it.)
        if (shuttingDown && !server?.listening) setImmediate(() => server?.closeIdleConnections());
      });
      app(request, response);
    },
  );
  onShutdown = () => {
    for (const response of inFlight) if (!response.headersSent) response.shouldKeepAlive = false;
  };
  // Requests Node refuses before the app sees them (header block over HTTP_MAX_HEADER_BYTES,
  // headers or body not in within their timeouts, malformed HTTP) get a problem+json answer too.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const answerable = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code?.startsWith('HPE_');
    // Nothing can be answered on a broken socket (ECONNRESET…), nor once a response has started on it.
    const response = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (!answerable || !socket.writable || response?.headersSent) {
      socket.destroy();
      return;
    }
    const problem = problemFor(error, undefined, log);
    const body = JSON.stringify(problem.body);
    socket.end(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  server.listen(config.port, config.host);
  server.on('error', (error: NodeJS.ErrnoException) => {
    log.fatal(
      { reason: error.message },
      error.code === 'EADDRINUSE' ? `port ${config.port} is already in use; set PORT to another one` : 'server failed',
    );
    void shutdown('listen failed', 1);
  });
  server.on('listening', () => {
    const address = server!.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://localhost:${port}`;
    if (!authOptions) {
      log.info({ url, environment: config.environment }, `tasks-api worker listening on ${url} (/health, /ready, /metrics; no API: WORKER=only)`);
      return;
    }
    log.info({ url, environment: config.environment, auth: describeAuth(authOptions, config) }, `tasks-api listening on ${url}`);
    if (config.auth.mode === 'development-secret') {
      log.info(
        `get a development token: make token USER=alice   then: curl -H "Authorization: Bearer <token>" ${url}/api/tasks`,
      );
    }
  });
}

/** The VAPID key pair: configured, or in development the one kept under DATA_DIR; none when push is off. */
async function vapidKeysFor(config: Config): Promise<VapidKeys | undefined> {
  const push = config.delivery.push;
  if (push.mode === 'off') return undefined;
  if (push.mode === 'configured') return push;
  return { ...(await readOrCreateDevVapidKeys(config.dataDirectory)), subject: push.subject };
}

function describeAuth(auth: AuthOptions, config: Config): string[] {
  return [
    auth.jwks && `JWKS ${auth.jwks.jwksUrl.href}`,
    auth.secret && (config.auth.mode === 'development-secret' ? 'HS256 development secret (DATA_DIR/dev-jwt-secret)' : 'HS256 BETTER_AUTH_SECRET'),
  ].filter((entry): entry is string => typeof entry === 'string');
}

/** Stops accepting, waits up to `graceMs` for in-flight requests; false when it had to cut them off. */
async function closeServer(server: Server, graceMs: number, log: Logger): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let inTime = true;
    const force = setTimeout(() => {
      inTime = false;
      log.error({ graceMs }, 'requests still running after SHUTDOWN_GRACE_SECONDS; closing their connections');
      server.closeAllConnections();
    }, graceMs);
    server.close(() => {
      clearTimeout(force);
      resolve(inTime);
    });
    // Idle keep-alive connections would otherwise hold close() open until they time out.
    server.closeIdleConnections();
  });
}

await main();
