// Graceful shutdown of the real process under load: SIGTERM turns /ready to 503 at once, the
// server keeps serving through SHUTDOWN_DRAIN_SECONDS (every response now says Connection: close),
// then stops accepting, lets in-flight requests finish within SHUTDOWN_GRACE_SECONDS, closes the
// pool and its PostgreSQL, and exits 0. No request the server accepted is lost; a request that
// outlives the grace period is cut off and the exit is 1.
import net from 'node:net';
import { rm } from 'node:fs/promises';
import { expect } from 'chai';
import { newDataDirectory, startApiProcess, startWriteLoad, withoutDetail, withoutRequestId, type ApiProcess } from '../support/api-process.ts';
import { hs256Token, testSecret } from '../support/api.ts';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres.ts';
import { isRunning, postmasterPid, stopAll } from '../support/server-process.ts';
import { silentLog } from '../support/database.ts';

/** The titles of a user's tasks, read from the stopped server's own database. */
async function storedTitles(dataDirectory: string, userId: string): Promise<string[]> {
  const postgres = await startEmbeddedPostgres({ dataDirectory, databaseName: 'tasks', log: silentLog });
  try {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ title: string }>('select title from tasks where owner_user_id = $1', [userId]);
      return rows.map((row) => row.title).sort();
    } finally {
      await client.end();
    }
  } finally {
    await postgres.stop();
  }
}

describe('the server receiving SIGTERM', () => {
  let dataDirectory: string;

  beforeEach(async () => {
    dataDirectory = await newDataDirectory('shutdown');
  });

  afterEach(async () => {
    await stopAll([dataDirectory]);
    await rm(dataDirectory, { recursive: true, force: true });
  });

  it('answers every request it accepted under steady keep-alive load, stores every acknowledged write, refuses the rest, exits 0 and stops its PostgreSQL', async function () {
    this.timeout(90_000);
    const api: ApiProcess = await startApiProcess({ DATA_DIR: dataDirectory, BETTER_AUTH_SECRET: testSecret, SHUTDOWN_DRAIN_SECONDS: '3' });
    const userId = `shutdown-${Date.now()}`;
    const authorization = `Bearer ${await hs256Token(userId)}`;
    const postgres = postmasterPid(dataDirectory)!;

    const load = startWriteLoad({
      url: api.url,
      authorization,
      label: 'write',
      workers: 8,
      maxPerWorker: 10_000,
      maxMs: 40_000,
      timeoutMs: 20_000,
      // A worker stops at its first refused connection: the listener is closed from then on.
      stopWhen: (outcome) => outcome.kind === 'error',
    });
    // Steady load first: some writes acknowledged by every worker's connection.
    for (let waited = 0; load.outcomes.length < 80 && waited < 20_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    const signalledAt = performance.now();
    api.run.child.kill('SIGTERM');
    await api.run.waitForLog((line) => line.msg === 'shutting down', 10_000);
    // Within the 3 s drain, with room for a loaded machine: still accepting, but no longer ready.
    const ready = await fetch(`${api.url}/ready`, { signal: AbortSignal.timeout(10_000) });
    const readyBody = withoutDetail(withoutRequestId(await ready.json()));
    const exit = await api.run.waitForExit(60_000);
    await load.finished;

    expect(ready.status, 'ready while draining').to.equal(503);
    expect(ready.headers.get('connection')).to.equal('close');
    expect(readyBody).to.deep.equal({
      type: '/problems/shutting-down',
      title: 'Server shutting down',
      status: 503,
      instance: '/ready',
    });
    expect(exit).to.include({ code: 0, signal: null });
    expect(api.run.logs.at(-1)).to.include({ msg: 'stopped', exitCode: 0 });
    expect(postmasterPid(dataDirectory)).to.equal(undefined);
    expect(isRunning(postgres)).to.equal(false);

    const responses = load.outcomes.filter((outcome) => outcome.kind === 'response');
    const failures = load.outcomes.filter((outcome) => outcome.kind === 'error');
    // Every request the server accepted got its whole response, a 201. The only failures are
    // connections the server never accepted, one per worker (each stops at its first): refused
    // once the listener had closed, or reset by the kernel because they were still queued in the
    // listen backlog when it closed (Linux resets those). None of them reached the database.
    // A reused keep-alive connection closed under a request would be "other side closed" here.
    expect(responses.filter((outcome) => outcome.status !== 201)).to.deep.equal([]);
    expect(failures).to.have.length(8);
    for (const failure of failures) expect(failure.code).to.be.oneOf(['ECONNREFUSED', 'ECONNRESET']);
    const afterSignal = responses.filter((outcome) => outcome.at > signalledAt);
    expect(afterSignal.length, 'writes answered after SIGTERM').to.be.greaterThan(0);
    for (const outcome of responses) expect(outcome.body).to.include({ title: outcome.marker, user_id: userId });
    const acknowledged = responses.map((outcome) => outcome.marker).sort();
    expect(await storedTitles(dataDirectory, userId)).to.deep.equal(acknowledged);
    if (process.env.TEST_TIMINGS) {
      console.log(
        `      ${responses.length} writes acknowledged (${afterSignal.length} after SIGTERM), ` +
          `${failures.filter((failure) => failure.code === 'ECONNREFUSED').length} refused, ` +
          `${failures.filter((failure) => failure.code === 'ECONNRESET').length} reset in the backlog; ` +
          `SIGTERM to exit ${Math.round(exit.elapsedMs - (signalledAt - api.run.startedAt))} ms`,
      );
    }
  });

  // WEB_CONCURRENCY=2: each worker runs the same shutdown, and the primary exits as its workers did.
  for (const workers of ['1', '2']) {
    it(`cuts off a request still running when SHUTDOWN_GRACE_SECONDS runs out, says so in the log, and exits 1 (WEB_CONCURRENCY=${workers})`, async function () {
      this.timeout(60_000);
      const api = await startApiProcess({ DATA_DIR: dataDirectory, BETTER_AUTH_SECRET: testSecret, SHUTDOWN_GRACE_SECONDS: '1', WEB_CONCURRENCY: workers });
      // With workers, the request may land on either: wait until both listen.
      const listening = () => api.run.logs.filter((line) => line.msg?.startsWith('tasks-api listening')).length;
      for (let waited = 0; listening() < Number(workers) && waited < 30_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(listening()).to.equal(Number(workers));
      const postgres = postmasterPid(dataDirectory)!;
      // A request whose body never finishes arriving: in flight, and never done.
      const { port } = new URL(api.url);
      const client = net.connect(Number(port), '127.0.0.1');
      client.on('error', () => {});
      const cutOff = new Promise<number>((resolve) => client.once('close', () => resolve(performance.now())));
      await new Promise((resolve) => client.once('connect', resolve));
      client.write(
        `POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${await hs256Token('slow-body')}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title":',
      );
      await new Promise((resolve) => setTimeout(resolve, 300));

      const signalledAt = performance.now();
      api.run.child.kill('SIGTERM');
      const exit = await api.run.waitForExit(30_000);
      const closedAt = await cutOff;

      expect(exit).to.include({ code: 1, signal: null });
      const forced = api.run.logs.find((line) => line.level === 50);
      expect(forced).to.include({ msg: 'requests still running after SHUTDOWN_GRACE_SECONDS; closing their connections', graceMs: 1_000 });
      expect(api.run.logs.at(-1)).to.include({ msg: 'stopped', exitCode: 1 });
      // Cut at the grace period, not at the 30 s request timeout.
      expect(closedAt - signalledAt).to.be.within(900, 15_000);
      expect(postmasterPid(dataDirectory)).to.equal(undefined);
      expect(isRunning(postgres)).to.equal(false);
    });
  }
});
