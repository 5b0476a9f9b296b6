// The process model. WEB_CONCURRENCY=1 (the default): one process does everything. Above 1, this
// process becomes a primary that owns the database side (the embedded PostgreSQL when there is no
// DATABASE_URL, and the migrations), then forks that many workers with node:cluster; each worker is
// an ordinary server (src/server.ts) on the same port, the primary handing out connections. A worker
// that dies is replaced; SIGINT/SIGTERM stop the workers first (each drains its own requests), then
// PostgreSQL.
import cluster, { type Worker } from 'node:cluster';
import { authOptionsFor } from './auth.ts';
import type { Config } from './config.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './database/embedded-postgres.ts';
import { migrate } from './database/migrations.ts';
import type { Logger } from './logger.ts';

/** True when this process should run as the cluster primary instead of serving requests itself. */
export function isClusterPrimary(config: Config): boolean {
  return config.webConcurrency > 1 && cluster.isPrimary;
}

export async function runClusterPrimary(config: Config, log: Logger): Promise<void> {
  let embedded: EmbeddedPostgres | undefined;
  let stopping = false;
  const workerEnv: Record<string, string> = {};

  const stop = async (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'stopping workers');
    const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.isDead()) return resolve();
            worker.once('exit', () => resolve());
            worker.process.kill('SIGTERM');
          }),
      ),
    );
    await embedded?.stop().catch((error: unknown) => log.warn({ err: error }, 'stopping PostgreSQL failed'));
    log.info('stopped');
    process.exit(exitCode);
  };
  process.once('SIGINT', () => void stop('SIGINT', 0));
  process.once('SIGTERM', () => void stop('SIGTERM', 0));

  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres({ dataDirectory: config.dataDirectory, databaseName: 'tasks', log });
      databaseUrl = embedded.url;
      workerEnv.DATABASE_URL = databaseUrl;
      log.info({ port: embedded.port, directory: config.dataDirectory }, 'embedded PostgreSQL is running (no DATABASE_URL set)');
    }
    await migrate(databaseUrl, log);
  } catch (error) {
    log.fatal({ reason: error instanceof Error ? error.message : String(error) }, 'database not usable; exiting');
    await stop('start-up failed', 1);
    return;
  }

  // Created here, once, so that workers starting together do not race to create it.
  await authOptionsFor(config);

  const listening = new WeakSet<Worker>();
  const fork = () => cluster.fork(workerEnv).once('listening', function (this: Worker) {
    listening.add(this);
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    // A worker that never got to listen will not do better the next time (a port in use, bad
    // settings): stop, instead of forking in a loop. One that served and then died is replaced.
    if (!listening.has(worker)) {
      log.fatal({ worker: worker.process.pid, code, signal }, 'a worker exited during start-up; exiting');
      void stop('worker start-up failed', 1);
      return;
    }
    log.error({ worker: worker.process.pid, code, signal }, 'worker exited; starting a replacement');
    fork();
  });
  log.info({ workers: config.webConcurrency }, 'starting workers (WEB_CONCURRENCY)');
  for (let index = 0; index < config.webConcurrency; index += 1) fork();
}
