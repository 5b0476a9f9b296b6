// A pool larger than the connections the server has left is said at start, with the numbers,
// instead of being discovered as 503s under load.
import { expect } from 'chai';
import { startApiProcess } from '../support/api-process.ts';
import { testSecret } from '../support/api.ts';
import { createMigratedDatabase, directDatabaseUrl, withSqlClient } from '../support/database.ts';
import { stopAll } from '../support/server-process.ts';

describe('the pool sizing check at start', function () {
  this.timeout(60_000);

  after(async () => {
    await stopAll();
  });

  it('warns with the numbers when DATABASE_POOL_MAX × WEB_CONCURRENCY does not fit in what the server has left', async () => {
    const databaseUrl = directDatabaseUrl(await createMigratedDatabase('pool_sizing'));
    const api = await startApiProcess({ DATABASE_URL: databaseUrl, BETTER_AUTH_SECRET: testSecret, DATABASE_POOL_MAX: '400' });
    const warning = api.run.logs.find((line) => line.level === 40 && /^the pool may not fit: /.test(line.msg ?? ''));
    expect(warning, api.run.stdout()).to.not.equal(undefined);
    // The test server's own numbers; its role is a superuser, so nothing is reserved for others.
    const maxConnections = await withSqlClient(databaseUrl, async (client) => Number((await client.query("select current_setting('max_connections') as value")).rows[0].value));
    expect(warning).to.include({ needed: 400, poolMax: 400, processes: 1, maxConnections, reservedForOthers: 0 });
    expect(warning!.msg).to.match(
      new RegExp(`^the pool may not fit: DATABASE_POOL_MAX 400 × WEB_CONCURRENCY 1 = 400 connections, but the server has \\d+ left for this role \\(max_connections ${maxConnections} − 0 reserved − \\d+ in use\\)`),
    );
  });
});
