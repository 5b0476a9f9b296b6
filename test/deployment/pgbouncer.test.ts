// Behind a transaction pooler, as on Neon's pooled connection string: a real PgBouncer 1.18 with
// its default ignore_startup_parameters in front of the test PostgreSQL. (`make test-pgbouncer`
// runs the whole suite through one; these tests hold what a pooler changes, in every run.)
import { expect } from 'chai';
import { sql } from 'slonik';
import { z } from 'zod';
import { migrate, migrationLockKey } from '../../src/database/migrations.ts';
import { createDatabasePool, type DatabasePool } from '../../src/database/pool.ts';
import { startApiProcess } from '../support/api-process.ts';
import { capturedLog, newUser, startTestApi, testSecret, type TestApi } from '../support/api.ts';
import { createEmptyDatabase, createMigratedDatabase, directDatabaseUrl, silentLog, withSqlClient } from '../support/database.ts';
import { startPgBouncer, type PgBouncer } from '../support/pgbouncer.ts';
import { stopAll } from '../support/server-process.ts';

const advisoryLocks = (databaseUrl: string) =>
  withSqlClient(directDatabaseUrl(databaseUrl), async (client) => {
    const { rows } = await client.query<{ held: number }>("select count(*)::int as held from pg_locks where locktype = 'advisory'");
    return rows[0]!.held;
  });

describe('behind PgBouncer 1.18 in transaction mode', function () {
  this.timeout(60_000);
  let bouncer: PgBouncer;

  before(async () => {
    // Two server connections for any number of clients: each transaction lands on either.
    bouncer = await startPgBouncer(directDatabaseUrl(await createEmptyDatabase('pgbouncer_probe')), { default_pool_size: '2' });
  });

  after(async () => {
    await stopAll();
    await bouncer?.stop();
  });

  it('starts the API process with nothing refused at start-up, and logs the database limits in force', async () => {
    const databaseUrl = bouncer.urlFor(directDatabaseUrl(await createEmptyDatabase('pgbouncer_start')));
    const api = await startApiProcess({ DATABASE_URL: databaseUrl, BETTER_AUTH_SECRET: testSecret });
    const limits = api.run.logs.find((line) => /^database limits: /.test(line.msg ?? ''));
    expect(limits, api.run.stdout()).to.include({
      clientDeadlineMs: 5_000,
      transactionStatementTimeoutMs: 10_000,
      roleStatementTimeout: '0',
      roleIdleInTransactionSessionTimeout: '0',
    });
    const alice = await newUser('alice');
    const created = await fetch(`${api.url}/api/tasks`, {
      method: 'POST',
      headers: { authorization: alice.authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Through the pooler' }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(created.status).to.equal(201);
  });

  describe('a pool', () => {
    let pool: DatabasePool | undefined;
    afterEach(async () => {
      await pool?.end();
      pool = undefined;
    });

    it('runs every transaction under its own statement_timeout, which the pooler passes through and which ends with the transaction', async () => {
      pool = await createDatabasePool(bouncer.urlFor(directDatabaseUrl(await createMigratedDatabase('pgbouncer_limits'))), { maxPoolSize: 2 });
      const show = sql.type(z.object({ statement_timeout: z.string() }))`select current_setting('statement_timeout') as statement_timeout`;
      expect(await pool.transaction((transaction) => transaction.one(show))).to.deep.equal({ statement_timeout: '10s' });
      // SET LOCAL ends with its transaction: nothing leaks onto the pooler's shared server connections.
      for (let attempt = 0; attempt < 4; attempt += 1) expect(await pool.one(show)).to.deep.equal({ statement_timeout: '0' });

    });
  });

  describe('with the start-up timeouts ignored, and DATABASE_PREPARED_STATEMENTS left at its default', () => {
    let ignoring: PgBouncer;
    let api: TestApi;
    const log = capturedLog('warn');

    before(async () => {
      // What an operator who met "unsupported startup parameter" would configure; the API sends
      // none now, so this only lets the old behaviour be compared.
      ignoring = await startPgBouncer(directDatabaseUrl(await createEmptyDatabase('pgbouncer_ignoring')), {
        default_pool_size: '2',
        ignore_startup_parameters: 'statement_timeout,idle_in_transaction_session_timeout',
      });
      api = await startTestApi({ databaseUrl: ignoring.urlFor(directDatabaseUrl(await createMigratedDatabase('pgbouncer_prepared'))), poolLog: log.log, maxPoolSize: 6 });
    });

    after(async () => {
      await api?.close();
      await ignoring?.stop();
    });

    it('answers every request without a 500 although PgBouncer cannot keep named statements, and warns once', async () => {
      const users = await Promise.all(Array.from({ length: 6 }, (_, index) => newUser(`pooled-${index}`)));
      const statuses: number[] = [];
      await Promise.all(
        users.map(async (user) => {
          for (let round = 0; round < 8; round += 1) {
            const created = await api.http.post('/api/tasks').set('Authorization', user.authorization).send({ title: `Task ${round}` });
            statuses.push(created.status);
            statuses.push((await api.http.get(`/api/tasks/${created.body.id}`).set('Authorization', user.authorization)).status);
            statuses.push((await api.http.get('/api/tasks').set('Authorization', user.authorization)).status);
          }
        }),
      );
      expect(statuses.filter((status) => status >= 300)).to.deep.equal([]);
      const warnings = log.lines().filter((line) => /lost a named prepared statement/.test(String(line.msg)));
      expect(warnings).to.have.length(1);
      expect(warnings[0]!.reason).to.match(/^(42P05|26000): /);
    });
  });

  describe('migrations', () => {
    it('leave no advisory lock held on the pooler’s server connections, so a later migration does not wait', async () => {
      const database = directDatabaseUrl(await createEmptyDatabase('pgbouncer_migrations'));
      const applied = await migrate(bouncer.urlFor(database), silentLog);
      expect(applied.length).to.be.above(0);
      expect(await advisoryLocks(database)).to.equal(0);
      const again = await Promise.race([
        migrate(database, silentLog, undefined, { lockWaitSeconds: 5 }),
        new Promise((_, reject) => setTimeout(() => reject(new Error('the second migration is still waiting after 10 s')), 10_000)),
      ]);
      expect(again).to.deep.equal([]);
    });

    it('wait a bounded time for another instance’s lock, say so in the log, then fail naming the lock', async () => {
      const database = directDatabaseUrl(await createEmptyDatabase('pgbouncer_lock_wait'));
      const log = capturedLog('info');
      await withSqlClient(database, async (client) => {
        await client.query('begin');
        await client.query('select pg_advisory_xact_lock($1)', [migrationLockKey]);
        const startedAt = performance.now();
        const error = await migrate(bouncer.urlFor(database), log.log, undefined, { lockWaitSeconds: 1 }).then(
          () => undefined,
          (failure: unknown) => failure,
        );
        const elapsedMs = performance.now() - startedAt;
        await client.query('rollback');
        expect(error).to.be.instanceOf(Error);
        expect((error as Error).message).to.match(/^another instance held the migration lock for more than 1s \(DATABASE_WAIT_SECONDS\)/);
        expect(elapsedMs).to.be.below(8_000);
      });
      expect(log.lines().map((line) => line.msg)).to.include('another instance is migrating; waiting up to 1s for its migration lock');
      expect(await advisoryLocks(database)).to.equal(0);
    });
  });
});

