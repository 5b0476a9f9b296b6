// The start-up capacity check (src/database/capacity.ts) against the test server's real numbers.
import { expect } from 'chai';
import { checkServerCapacity } from '../../src/database/capacity.ts';
import { capturedLog } from '../support/api.ts';
import { directDatabaseUrl, testDatabaseUrl } from '../support/database.ts';

describe('checkServerCapacity', () => {
  it('says the pool fits, with the numbers, when it does', async () => {
    const log = capturedLog('info');
    const capacity = await checkServerCapacity(directDatabaseUrl(testDatabaseUrl()), { poolMax: 2, processes: 2 }, log.log);
    const fits = log.lines().find((line) => /^pool fits: /.test(String(line.msg)));
    expect(fits).to.include({ needed: 4, poolMax: 2, processes: 2, maxConnections: capacity!.maxConnections });
  });
});
