// A real PgBouncer (Debian's 1.18 here) in front of a test PostgreSQL, configured as Neon's pooled
// endpoint behaves where it matters: transaction pooling, SCRAM, and the default (empty)
// ignore_startup_parameters, so any start-up parameter the API sent would be refused. `make
// test-pgbouncer` runs the suite with TEST_THROUGH_PGBOUNCER=1: every database URL the tests hand
// out then goes through one of these (test/support/database.ts).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '../../src/database/embedded-postgres.ts';
import { onLoopbackPort } from './tcp-proxy.ts';

export type PgBouncer = {
  readonly port: number;
  /** The same database, user and password as `databaseUrl`, through this PgBouncer. */
  readonly urlFor: (databaseUrl: string) => string;
  /** What PgBouncer logged so far. */
  readonly log: () => string;
  readonly stop: () => Promise<void>;
};

/** Where PgBouncer is: scripts/find-tool.sh decides (PGBOUNCER_PATH, PATH, the usual places), as for `make test`. */
export function pgBouncerBinary(): string {
  try {
    return execFileSync(path.join(import.meta.dirname, '../../scripts/find-tool.sh'), ['pgbouncer'], { encoding: 'utf8' }).trim();
  } catch (error) {
    throw new Error(String((error as { stderr?: unknown }).stderr ?? error).trim(), { cause: error });
  }
}

export async function startPgBouncer(
  serverUrl: string,
  settings: Readonly<Record<string, string>> = {},
): Promise<PgBouncer> {
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username);
  const password = decodeURIComponent(server.password);
  const port = await findFreePort();
  // Private: the auth file holds the password. As root, PgBouncer must run as another user (-u),
  // which then owns the folder.
  const directory = await mkdtemp(path.join(os.tmpdir(), 'tasks-api-pgbouncer-'));
  const runAs = process.getuid?.() === 0 ? 'postgres' : undefined;
  const quoted = (text: string) => `"${text.replaceAll('"', '""')}"`;
  const ini = {
    listen_addr: '127.0.0.1',
    listen_port: String(port),
    unix_socket_dir: '',
    auth_type: 'scram-sha-256',
    auth_file: path.join(directory, 'userlist.txt'),
    pool_mode: 'transaction',
    max_client_conn: '2000',
    default_pool_size: '20',
    logfile: path.join(directory, 'pgbouncer.log'),
    pidfile: path.join(directory, 'pgbouncer.pid'),
    ...settings,
  };
  const files = {
    'userlist.txt': `${quoted(user)} ${quoted(password)}\n`,
    'pgbouncer.ini':
      `[databases]\n* = host=${server.hostname} port=${server.port}\n\n[pgbouncer]\n` +
      Object.entries(ini).map(([name, value]) => `${name} = ${value}\n`).join(''),
  };
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(directory, name), text, { mode: 0o600 });
  if (runAs) {
    const uid = Number(execFileSync('id', ['-u', runAs], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', runAs], { encoding: 'utf8' }));
    for (const name of ['', ...Object.keys(files)]) await chown(path.join(directory, name), uid, gid);
  }

  const child: ChildProcess = spawn(pgBouncerBinary(), [...(runAs ? ['-u', runAs] : []), path.join(directory, 'pgbouncer.ini')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => void (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => void (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => void (output += `\n${error.message}`));

  const readLog = () => {
    try {
      return output + readFileSync(ini.logfile, 'utf8');
    } catch {
      return output;
    }
  };
  await waitForPort(port, 10_000, () => child.exitCode !== null).catch((error: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${error.message}\n${readLog()}`);
  });

  return {
    port,
    urlFor: (databaseUrl) => onLoopbackPort(databaseUrl, port),
    log: readLog,
    stop: async () => {
      // SIGINT would wait for clients to disconnect; SIGTERM closes everything at once.
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(directory, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, timeoutMs: number, gaveUp: () => boolean): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (gaveUp()) throw new Error('pgbouncer exited during start-up');
    if (performance.now() > deadline) throw new Error(`pgbouncer did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
