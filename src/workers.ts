// The process model. WEB_CONCURRENCY=1 (the default): one process does everything. Above 1, this
// process becomes a primary that owns the database side (the embedded PostgreSQL when there is no
// DATABASE_URL, and the migrations), then forks that many workers with node:cluster; each worker is
// an ordinary server (src/server.ts) on the same port, the primary handing out connections. A worker
// that dies is replaced; SIGINT/SIGTERM stop the workers first (each drains its own requests), then
// PostgreSQL.
import cluster, { type Worker } from 'node:cluster';
import { authOptionsFor } from './auth.ts';
import type { Config } from './config.ts';
import { onStopSignals, startDatabase, startFailureLine, type DatabaseStart } from './database/startup.ts';
import { flushLog, type Logger } from './logger.ts';

/** True when this process should run as the cluster primary instead of serving requests itself. */
export function isClusterPrimary(config: Config): boolean {
  return config.webConcurrency > 1 && cluster.isPrimary;
}

export async function runClusterPrimary(config: Config, log: Logger): Promise<void> {
  let database: DatabaseStart | undefined;
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
            // A worker that had to cut requests off at SHUTDOWN_GRACE_SECONDS exits 1: so does the primary.
            worker.once('exit', (code) => {
              if (code !== 0) exitCode = 1;
              resolve();
            });
            worker.process.kill('SIGTERM');
          }),
      ),
    );
    await database?.stop();
    log.info({ exitCode }, 'stopped');
    await flushLog(log);
    process.exit(exitCode);
  };
  onStopSignals((signal) => void stop(signal, 0));

  try {
    database = startDatabase(config, log, 'cluster-primary');
    const started = await database.started;
    if (started.embedded) workerEnv.DATABASE_URL = started.url;
  } catch (error) {
    log.fatal(`tasks-api cannot start: ${startFailureLine(error)}`);
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
