// The real entry point as an operator runs it (`node src/server.ts`): start-up with the embedded
// database, the logs that tell a developer what to do next, a clean stop on SIGTERM / SIGINT that
// leaves no PostgreSQL behind, persistence across restarts, and start-up failures that exit
// non-zero with a message naming what to fix.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import { findFreePort } from '../../src/database/embedded-postgres.ts';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import {
  cleanEnvironment,
  isRunning,
  postmasterPid,
  processesUsing,
  runNode,
  runNodeToEnd,
  stopAll,
  type LogLine,
  type RunningProcess,
} from '../support/server-process.ts';
import { testDatabaseUrl } from '../support/database.ts';

const listening = /^tasks-api listening on http:\/\/localhost:(\d+)$/;

/** Pids whose parent is `pid` (Linux /proc). */
function childProcessesOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function newDataDirectory(): Promise<string> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'tasks-api-process-'));
  // Under root, PostgreSQL runs as the `postgres` user, which must be able to enter the folder.
  await chmod(directory, 0o755);
  return directory;
}

const developmentSettings = (dataDirectory: string) => ({
  NODE_ENV: 'development',
  DATA_DIR: dataDirectory,
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'info',
});

type Server = {
  readonly run: RunningProcess;
  readonly url: string;
  readonly listeningLine: LogLine;
  /** From spawning the process to its "listening" line. */
  readonly startMs: number;
};

async function startServer(dataDirectory: string, extra: Readonly<Record<string, string>> = {}): Promise<Server> {
  const run = runNode('src/server.ts', [], cleanEnvironment({ ...developmentSettings(dataDirectory), ...extra }));
  const listeningLine = await run.waitForLog((line) => listening.test(line.msg ?? ''), 15_000);
  const startMs = performance.now() - run.startedAt;
  const port = listening.exec(listeningLine.msg!)![1];
  if (process.env.TEST_TIMINGS) console.log(`      start to listening: ${Math.round(startMs)} ms`);
  return { run, url: `http://127.0.0.1:${port}`, listeningLine, startMs };
}

async function mintToken(dataDirectory: string, userId: string): Promise<string> {
  const minted = await runNodeToEnd('scripts/token.ts', [userId], cleanEnvironment({ NODE_ENV: 'development', DATA_DIR: dataDirectory }), 10_000);
  expect(minted.code, minted.stderr).to.equal(0);
  const token = minted.stdout.trim();
  expect(token).to.match(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  return token;
}

const call = (url: string, init: RequestInit = {}) => fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });

/** Signals the server and waits (bounded) for it to exit; returns how it exited and how long it took. */
async function stop(server: Server, signal: NodeJS.Signals) {
  const signalledAt = performance.now();
  server.run.child.kill(signal);
  const exit = await server.run.waitForExit(10_000);
  const ms = performance.now() - signalledAt;
  if (process.env.TEST_TIMINGS) console.log(`      ${signal} to exit: ${Math.round(ms)} ms`);
  return { ...exit, ms };
}

const messages = (run: RunningProcess) => run.logs.map((line) => line.msg);

describe('the server started without DATABASE_URL', () => {
  let dataDirectory: string;

  before(async () => {
    dataDirectory = await newDataDirectory();
  });

  afterEach(async () => {
    await stopAll([dataDirectory]);
  });

  after(async () => {
    await stopAll([dataDirectory]);
    if (dataDirectory) await rm(dataDirectory, { recursive: true, force: true });
  });

  it('starts an embedded PostgreSQL under DATA_DIR, migrates it, and logs its address and a `make token` hint', async () => {
    const server = await startServer(dataDirectory);
    const port = listening.exec(server.listeningLine.msg!)![1];
    const hint = await server.run.waitForLog((line) => /make token/.test(line.msg ?? ''), 2_000);

    expect(messages(server.run)).to.include.members([
      'initialising embedded PostgreSQL (first start only)',
      'embedded PostgreSQL is running (no DATABASE_URL set)',
      'applied migration',
    ]);
    expect(server.listeningLine).to.include({ url: `http://localhost:${port}`, environment: 'development' });
    expect(hint.msg).to.equal(
      `get a development token: make token USER=alice   then: curl -H "Authorization: Bearer <token>" http://localhost:${port}/api/tasks`,
    );
    expect(existsSync(path.join(dataDirectory, 'postgres', 'PG_VERSION'))).to.equal(true);
    expect(postmasterPid(dataDirectory)).to.be.a('number');
    const health = await call(`${server.url}/health`);
    expect(health.status).to.equal(200);
    expect(await health.json()).to.deep.equal({ status: 'ok' });
  });

  it('creates a task for a token that scripts/token.ts minted from the same DATA_DIR', async () => {
    const [server, token] = await Promise.all([startServer(dataDirectory), mintToken(dataDirectory, 'alice')]);

    const created = await call(`${server.url}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'From the command line' }),
    });

    expect(created.status).to.equal(201);
    const task = (await created.json()) as { readonly id: string };
    expect(task).to.include({ user_id: 'alice', title: 'From the command line', completed: false, status: 'pending' });
    expect(created.headers.get('location')).to.equal(`/api/tasks/${task.id}`);
  });

  it('exits 0 within a few seconds of SIGTERM, logs "stopped", and leaves no PostgreSQL running', async () => {
    const server = await startServer(dataDirectory);
    const postgres = postmasterPid(dataDirectory);
    expect(postgres).to.be.a('number');
    expect(isRunning(postgres!)).to.equal(true);

    const exit = await stop(server, 'SIGTERM');

    expect(exit).to.include({ code: 0, signal: null });
    expect(exit.ms).to.be.below(5_000);
    expect(messages(server.run)).to.include.members(['shutting down', 'stopped']);
    expect(server.run.logs.find((line) => line.msg === 'shutting down')).to.include({ reason: 'SIGTERM' });
    expect(messages(server.run).at(-1)).to.equal('stopped');
    expect(postmasterPid(dataDirectory)).to.equal(undefined);
    expect(isRunning(postgres!)).to.equal(false);
  });

  it('stops as cleanly on SIGINT', async () => {
    const server = await startServer(dataDirectory);
    const postgres = postmasterPid(dataDirectory);

    const exit = await stop(server, 'SIGINT');

    expect(exit).to.include({ code: 0, signal: null });
    expect(exit.ms).to.be.below(5_000);
    expect(server.run.logs.find((line) => line.msg === 'shutting down')).to.include({ reason: 'SIGINT' });
    expect(messages(server.run).at(-1)).to.equal('stopped');
    expect(postmasterPid(dataDirectory)).to.equal(undefined);
    expect(isRunning(postgres!)).to.equal(false);
  });

  it('still has a task after a restart on the same DATA_DIR', async () => {
    const [first, token] = await Promise.all([startServer(dataDirectory), mintToken(dataDirectory, 'bob')]);
    const authorization = { authorization: `Bearer ${token}` };
    const created = await call(`${first.url}/api/tasks`, {
      method: 'POST',
      headers: { ...authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Remember me', description: 'across restarts' }),
    });
    expect(created.status).to.equal(201);
    const task = (await created.json()) as { readonly id: string };
    expect((await stop(first, 'SIGTERM')).code).to.equal(0);

    const second = await startServer(dataDirectory);
    const read = await call(`${second.url}/api/tasks/${task.id}`, { headers: authorization });

    expect(read.status).to.equal(200);
    expect(await read.json()).to.deep.equal(task);
    // A warm start neither initialises the cluster again nor re-applies migrations.
    expect(messages(second.run)).not.to.include('initialising embedded PostgreSQL (first start only)');
    expect(messages(second.run)).not.to.include('applied migration');
  });

  it('serves from WEB_CONCURRENCY workers on one port and one embedded PostgreSQL, and SIGTERM stops them all and it', async function () {
    this.timeout(30_000);
    const [server, token] = await Promise.all([startServer(dataDirectory, { WEB_CONCURRENCY: '2' }), mintToken(dataDirectory, 'carol')]);
    const secondListening = await server.run.waitForLog(
      (line) => line !== server.listeningLine && listening.test(line.msg ?? ''),
      15_000,
    );
    expect(secondListening.msg, 'both workers listen on the same port').to.equal(server.listeningLine.msg);
    const workerPids = childProcessesOf(server.run.child.pid!).filter((pid) => /src\/server\.ts/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
    expect(workerPids).to.have.length(2);

    const created = await call(`${server.url}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Served by a worker' }),
    });
    expect(created.status).to.equal(201);
    const task = (await created.json()) as { readonly id: string };
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const read = await call(`${server.url}/api/tasks/${task.id}`, { headers: { authorization: `Bearer ${token}` } });
      expect(read.status).to.equal(200);
    }
    const postgres = postmasterPid(dataDirectory);

    const exit = await stop(server, 'SIGTERM');

    expect(exit).to.include({ code: 0, signal: null });
    expect(messages(server.run)).to.include.members(['starting workers (WEB_CONCURRENCY)', 'stopping workers', 'stopped']);
    for (const pid of workerPids) expect(isRunning(pid), `worker ${pid}`).to.equal(false);
    expect(isRunning(postgres!)).to.equal(false);
  });

  it('stops cleanly when interrupted during its very first start, leaving no process, no password file, and a database that starts', async function () {
    this.timeout(30_000);
    const firstStart = await newDataDirectory();
    // embedded-postgres hands initdb the superuser password through a file in the temp folder.
    const temporaryFolder = await newDataDirectory();
    try {
      const run = runNode('src/server.ts', [], cleanEnvironment({ ...developmentSettings(firstStart), TMPDIR: temporaryFolder }));
      await run.waitForLog((line) => line.msg === 'initialising embedded PostgreSQL (first start only)', 15_000);
      // Interrupt while initdb runs (a developer's Ctrl-C during the first `make run`).
      for (let attempt = 0; attempt < 200 && !processesUsing(firstStart).some((entry) => entry.includes('initdb')); attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(processesUsing(firstStart).some((entry) => entry.includes('initdb')), 'initdb running').to.equal(true);
      run.child.kill('SIGTERM');

      const exit = await run.waitForExit(15_000);

      expect(exit).to.include({ code: 0, signal: null });
      expect(messages(run)).to.include('shutting down');
      expect(messages(run).at(-1)).to.equal('stopped');
      expect(processesUsing(firstStart)).to.deep.equal([]);
      expect(postmasterPid(firstStart)).to.equal(undefined);
      expect(await readdir(temporaryFolder)).to.deep.equal([]);
      const again = await startServer(firstStart);
      expect((await call(`${again.url}/ready`)).status).to.equal(200);
      expect((await stop(again, 'SIGTERM')).code).to.equal(0);
    } finally {
      await stopAll([firstStart]);
      await Promise.all([firstStart, temporaryFolder].map((directory) => rm(directory, { recursive: true, force: true })));
    }
  });

  it('exits non-zero with a clear message when PORT is taken, and stops its PostgreSQL', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const run = runNode('src/server.ts', [], cleanEnvironment({ ...developmentSettings(dataDirectory), PORT: String(port) }));

      const exit = await run.waitForExit(15_000);

      expect(exit.code).to.equal(1);
      expect(run.logs.find((line) => line.level === 60)).to.include({
        msg: `port ${port} is already in use; set PORT to another one`,
      });
      expect(messages(run).at(-1)).to.equal('stopped');
      expect(postmasterPid(dataDirectory)).to.equal(undefined);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe('the server refusing to start', () => {
  const directories: string[] = [];
  type Ended = Awaited<ReturnType<typeof runNodeToEnd>>;
  let production: Ended;
  let invalidPort: Ended;
  let unreachableDatabase: Ended;
  let wrongPassword: Ended;
  let productionDirectory: string;
  let invalidPortDirectory: string;

  const dataDirectory = async () => {
    const directory = await newDataDirectory();
    directories.push(directory);
    return directory;
  };

  // The three starts are independent processes: run them side by side to keep the file quick.
  before(async () => {
    productionDirectory = await dataDirectory();
    invalidPortDirectory = await dataDirectory();
    const closedPort = await findFreePort();
    const refusedCredentials = new URL(testDatabaseUrl());
    refusedCredentials.password = 'not-the-password';
    [production, invalidPort, unreachableDatabase, wrongPassword] = await Promise.all([
      runNodeToEnd('src/server.ts', [], cleanEnvironment({ ...developmentSettings(productionDirectory), NODE_ENV: 'production' }), 10_000),
      runNodeToEnd('src/server.ts', [], cleanEnvironment({ ...developmentSettings(invalidPortDirectory), PORT: 'abc' }), 10_000),
      runNodeToEnd(
        'src/server.ts',
        [],
        cleanEnvironment({
          ...developmentSettings(await dataDirectory()),
          DATABASE_URL: `postgres://tasks:secret@127.0.0.1:${closedPort}/tasks`,
          DATABASE_WAIT_SECONDS: '2',
        }),
        20_000,
      ),
      runNodeToEnd(
        'src/server.ts',
        [],
        cleanEnvironment({
          ...developmentSettings(await dataDirectory()),
          DATABASE_URL: refusedCredentials.toString(),
          DATABASE_WAIT_SECONDS: '30',
        }),
        10_000,
      ),
    ]);
  });

  after(async () => {
    await stopAll(directories);
    await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
  });

  it('exits non-zero in production when no token verification is configured, naming the variables, and invents no secret', async () => {
    expect(production.code).to.equal(1);
    expect(production.stderr).to.equal(
      'tasks-api cannot start. No token verification is configured, and a production start never invents a secret.\n' +
        '  Set BETTER_AUTH_URL (or JWT_JWKS_URL) to verify Better Auth JWTs against its JWKS,\n' +
        '  and/or BETTER_AUTH_SECRET to verify HS256 tokens signed with that shared secret.\n',
    );
    expect(await readdir(productionDirectory)).to.deep.equal([]);
  });

  it('exits non-zero naming the variable when a setting is invalid', async () => {
    expect(invalidPort.code).to.equal(1);
    expect(invalidPort.stderr).to.match(/^tasks-api cannot start\. Invalid configuration:\n {2}PORT: .+\n$/);
    expect(await readdir(invalidPortDirectory)).to.deep.equal([]);
  });

  it('retries an unreachable DATABASE_URL with logged attempts, then exits non-zero once DATABASE_WAIT_SECONDS have passed', () => {
    const run = unreachableDatabase;
    expect(run.code).to.equal(1);
    const retries = run.logs.filter((line) => line.msg === 'database not reachable yet; retrying');
    expect(retries.length).to.be.at.least(2);
    expect(retries.map((line) => line.attempt)).to.deep.equal(retries.map((_, index) => index + 1));
    // Exponential backoff: each wait doubles, from 250 ms.
    expect(retries.map((line) => line.retryInMs)).to.deep.equal(retries.map((_, index) => 250 * 2 ** index));
    for (const retry of retries) expect(retry.reason).to.match(/^ECONNREFUSED: /);
    const fatal = run.logs.filter((line) => line.level === 60);
    expect(fatal).to.have.length(1);
    expect(fatal[0]!.msg).to.match(/\b2s\b.*\(DATABASE_WAIT_SECONDS\); exiting/);
    expect(run.stdout).not.to.include('secret@');
    // Two seconds of retrying, plus start-up and exit (seconds more on a loaded machine): bounded,
    // and well short of a hang.
    expect(run.elapsedMs).to.be.within(1_500, 15_000);
  });

  it('exits at once, without retrying, when the database refuses the credentials (waiting cannot cure that)', () => {
    expect(wrongPassword.code).to.equal(1);
    expect(wrongPassword.logs.filter((line) => line.msg === 'database not reachable yet; retrying')).to.deep.equal([]);
    const fatal = wrongPassword.logs.filter((line) => line.level === 60);
    expect(fatal).to.have.length(1);
    expect(fatal[0]!.msg).to.match(
      /^tasks-api cannot start: the database refused the user name or password in DATABASE_URL \(28P01: password authentication failed for user "[^"]+"\); fix DATABASE_URL$/,
    );
    expect(wrongPassword.stdout).not.to.include('not-the-password');
    // DATABASE_WAIT_SECONDS is 30: exiting this fast shows it did not wait.
    expect(wrongPassword.elapsedMs).to.be.below(5_000);
  });
});
