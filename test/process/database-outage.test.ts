// A real PostgreSQL stopped and started again under the real API process during a run of writes.
// The database is a separate embedded server of this test's own (not the suite's), stopped the
// way `pg_ctl stop` does it (SIGINT = -m fast: sessions terminated, open transactions rolled
// back; SIGQUIT = -m immediate: every process quits at once, crash recovery at the next start),
// then started again on the same port and data directory.
//
// What must hold: the API never hangs or crashes; during the outage writes get a 503 problem with
// Retry-After promptly and /ready is 503; once PostgreSQL is back both recover with no restart;
// every acknowledged (201) write is in the database; and no failed write half-happened. A write
// that failed is either absent or, when PostgreSQL committed it but the connection broke before
// the API heard so, present whole: the client then saw a 503 for a write that happened, the one
// outcome no server can rule out, which a retry with an Idempotency-Key resolves.
import { rm } from 'node:fs/promises';
import { expect } from 'chai';
import pg from 'pg';
import { newDataDirectory, startApiProcess, startWriteLoad, withoutDetail, type Outcome } from '../support/api-process.ts';
import { hs256Token, testSecret } from '../support/api.ts';
import { silentLog } from '../support/database.ts';
import { postmasterPid, stopAll, waitUntilGone } from '../support/server-process.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/database/embedded-postgres.ts';

const unavailable = {
  type: '/problems/database-unavailable',
  title: 'Database unavailable',
  status: 503,
  instance: '/api/tasks',
};

type ReadyProbe = { readonly status: number | string; readonly at: number };

/** Polls /ready every 100 ms until stopped (each probe bounded) and records what it answered. */
function pollReady(url: string) {
  const probes: ReadyProbe[] = [];
  let stopped = false;
  const finished = (async () => {
    while (!stopped) {
      let status: number | string;
      try {
        status = (await fetch(`${url}/ready`, { signal: AbortSignal.timeout(10_000) })).status;
      } catch (error) {
        status = String((error as Error).cause ?? error);
      }
      probes.push({ status, at: performance.now() });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return { probes, stop: async () => void ((stopped = true), await finished) };
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

for (const { mode, signal } of [
  { mode: 'fast', signal: 'SIGINT' },
  { mode: 'immediate', signal: 'SIGQUIT' },
] as const) {
  describe(`PostgreSQL stopped (-m ${mode}) and started again under a run of writes`, () => {
    let dataDirectory: string;
    let postgres: EmbeddedPostgres;

    before(async function () {
      this.timeout(60_000);
      dataDirectory = await newDataDirectory(`outage-${mode}`);
      postgres = await startEmbeddedPostgres({ dataDirectory, databaseName: 'tasks', log: silentLog });
    });

    after(async function () {
      this.timeout(30_000);
      // Stops the API, then this test's PostgreSQL by the pid in its data directory (the embedded
      // handle of a server that was killed would wait for an exit that already happened).
      await stopAll([dataDirectory]);
      await rm(dataDirectory, { recursive: true, force: true });
    });

    it('answers 503 with Retry-After promptly and /ready 503 meanwhile, recovers without a restart, keeps every acknowledged write and half-does none', async function () {
      this.timeout(120_000);
      const api = await startApiProcess({ DATABASE_URL: postgres.url, BETTER_AUTH_SECRET: testSecret });
      const userId = `outage-${mode}-${Date.now()}`;
      const load = startWriteLoad({
        url: api.url,
        authorization: `Bearer ${await hs256Token(userId)}`,
        label: mode,
        workers: 4,
        maxPerWorker: 5_000,
        maxMs: 90_000,
        // Far above any answer the API should give: a request that takes this long is a hang.
        timeoutMs: 20_000,
        pauseMs: 20,
      });
      const ready = pollReady(api.url);
      const count = (matches: (outcome: Outcome) => boolean) => load.outcomes.filter(matches).length;
      try {
        await waitFor(() => count((outcome) => outcome.kind === 'response' && outcome.status === 201) >= 40, 30_000, '40 writes before the outage');

        const stoppedAt = performance.now();
        const postmaster = postmasterPid(dataDirectory)!;
        process.kill(postmaster, signal);
        expect(await waitUntilGone(postmaster, 15_000), 'PostgreSQL stopped').to.equal(true);
        await waitFor(() => count((outcome) => outcome.at > stoppedAt && outcome.kind === 'response' && outcome.status === 503) >= 20, 30_000, '20 writes answered 503');
        await waitFor(() => ready.probes.some((probe) => probe.at > stoppedAt && probe.status === 503), 30_000, '/ready 503');

        const restartedAt = performance.now();
        postgres = await startEmbeddedPostgres({ dataDirectory, databaseName: 'tasks', log: silentLog, port: postgres.port });
        await waitFor(() => ready.probes.some((probe) => probe.at > restartedAt && probe.status === 200), 30_000, '/ready 200 again');
        const recoveredAt = performance.now();
        await waitFor(() => count((outcome) => outcome.at > recoveredAt && outcome.kind === 'response' && outcome.status === 201) >= 40, 30_000, '40 writes after recovery');
        load.stop();
        await load.finished;
        await ready.stop();

        // Never a hang, never a crash: every request got an answer, a 201 or a 503 problem, from the one process.
        expect(api.run.exited(), 'the API process kept running').to.equal(undefined);
        expect(load.outcomes.filter((outcome) => outcome.kind === 'error')).to.deep.equal([]);
        const answers = load.outcomes.filter((outcome) => outcome.kind === 'response');
        expect(answers.filter((outcome) => outcome.status !== 201 && outcome.status !== 503)).to.deep.equal([]);
        const refused = answers.filter((outcome) => outcome.status === 503);
        for (const outcome of refused) {
          expect(withoutDetail(outcome.body)).to.deep.equal(unavailable);
          expect(outcome.retryAfter).to.equal('5');
        }
        // "Within a couple of seconds": the bound is generous for a loaded machine.
        const slowest = Math.max(...refused.map((outcome) => outcome.ms));
        expect(slowest, 'slowest 503 (ms)').to.be.below(6_000);
        expect(ready.probes.filter((probe) => typeof probe.status !== 'number'), 'every /ready probe answered').to.deep.equal([]);
        expect(ready.probes.filter((probe) => probe.at < stoppedAt).map((probe) => probe.status)).to.include(200);

        const client = new pg.Client({ connectionString: postgres.url });
        await client.connect();
        const stored = await client
          .query<{ title: string; description: string | null; status: string; completed_at: string | null }>(
            'select title, description, status, completed_at from tasks where owner_user_id = $1',
            [userId],
          )
          .finally(() => client.end());
        const storedTitles = stored.rows.map((row) => row.title);
        // Each write is one INSERT: a stored row is the whole task that was sent, once.
        expect(new Set(storedTitles).size, 'no write stored twice').to.equal(storedTitles.length);
        for (const row of stored.rows) expect(row).to.deep.include({ description: null, status: 'pending', completed_at: null });
        const acknowledged = answers.filter((outcome) => outcome.status === 201).map((outcome) => outcome.marker);
        const refusedMarkers = new Set(refused.map((outcome) => outcome.marker));
        expect(storedTitles.filter((title) => !acknowledged.includes(title) && !refusedMarkers.has(title)), 'rows nobody sent').to.deep.equal([]);
        expect(acknowledged.filter((marker) => !storedTitles.includes(marker)), 'acknowledged writes missing').to.deep.equal([]);
        const committedThough503 = refused.filter((outcome) => storedTitles.includes(outcome.marker));

        if (process.env.TEST_TIMINGS) {
          const latencies = refused.map((outcome) => outcome.ms).sort((a, b) => a - b);
          const firstReady503 = ready.probes.find((probe) => probe.at > stoppedAt && probe.status === 503)!;
          console.log(
            `      ${acknowledged.length} writes 201, ${refused.length} 503 (median ${Math.round(latencies[latencies.length >> 1]!)} ms, ` +
              `slowest ${Math.round(slowest)} ms), ${committedThough503.length} answered 503 yet committed; ` +
              `/ready 503 ${Math.round(firstReady503.at - stoppedAt)} ms after the stop, 200 ${Math.round(recoveredAt - restartedAt)} ms after the restart began`,
          );
        }
      } finally {
        load.stop();
        await ready.stop();
        await load.finished;
      }
    });
  });
}

describe('a server started while its PostgreSQL is still down', () => {
  let dataDirectory: string;

  after(async function () {
    this.timeout(30_000);
    await stopAll([dataDirectory]);
    await rm(dataDirectory, { recursive: true, force: true });
  });

  it('retries with backoff and comes up, with no restart, once PostgreSQL starts within DATABASE_WAIT_SECONDS', async function () {
    this.timeout(90_000);
    dataDirectory = await newDataDirectory('late-database');
    const first = await startEmbeddedPostgres({ dataDirectory, databaseName: 'tasks', log: silentLog });
    await first.stop();

    const starting = startApiProcess({ DATABASE_URL: first.url, BETTER_AUTH_SECRET: testSecret, DATABASE_WAIT_SECONDS: '60' });
    // Let it fail to connect a few times first.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await startEmbeddedPostgres({ dataDirectory, databaseName: 'tasks', log: silentLog, port: first.port });
    const api = await starting;

    const retries = api.run.logs.filter((line) => line.msg === 'database not reachable yet; retrying');
    expect(retries.length).to.be.at.least(2);
    // Refused while it is down; "starting up" (57P03) if an attempt lands while it starts.
    for (const retry of retries) expect(retry.reason).to.match(/^(ECONNREFUSED|57P03): /);
    expect(retries.map((line) => line.retryInMs)).to.deep.equal(retries.map((_, index) => Math.min(250 * 2 ** index, 4_000)));
    expect((await fetch(`${api.url}/ready`, { signal: AbortSignal.timeout(10_000) })).status).to.equal(200);
  });
});
