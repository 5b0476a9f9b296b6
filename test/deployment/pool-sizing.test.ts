// A pool larger than the connections the server has left is said at start, with the numbers,
// instead of being discovered as 503s under load.
import { expect } from 'chai';
import { checkServerCapacity, readServerCapacity } from '../../src/database/capacity.ts';
import { startApiProcess } from '../support/api-process.ts';
import { capturedLog, testSecret } from '../support/api.ts';
import { createMigratedDatabase, directDatabaseUrl, testDatabaseUrl } from '../support/database.ts';
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
    const capacity = await readServerCapacity(databaseUrl);
    expect(warning).to.include({ needed: 400, poolMax: 400, processes: 1, maxConnections: capacity.maxConnections, reservedForOthers: capacity.reservedForOthers });
    expect(warning!.msg).to.match(
      new RegExp(`^the pool may not fit: DATABASE_POOL_MAX 400 × WEB_CONCURRENCY 1 = 400 connections, but the server has \\d+ left for this role \\(max_connections ${capacity.maxConnections} − ${capacity.reservedForOthers} reserved − \\d+ in use\\)`),
    );
  });

  it('says the pool fits, with the numbers, when it does', async () => {
    const log = capturedLog('info');
    const capacity = await checkServerCapacity(directDatabaseUrl(testDatabaseUrl()), { poolMax: 2, processes: 2 }, log.log);
    const fits = log.lines().find((line) => /^pool fits: /.test(String(line.msg)));
    expect(fits).to.include({ needed: 4, poolMax: 2, processes: 2, maxConnections: capacity!.maxConnections });
  });
});
