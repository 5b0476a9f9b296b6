import { expect } from 'chai';
import { migrate } from '../../src/database/migrations.ts';
import { createDatabasePool } from '../../src/database/pool.ts';
import { withDriverSslMode } from '../../src/database/ssl-mode.ts';
import { silentLog, testDatabaseUrl } from '../support/database.ts';

function withSslMode(mode: string): string {
  const url = new URL(testDatabaseUrl());
  url.searchParams.set('sslmode', mode);
  return url.toString();
}

// The test server speaks no TLS, so "TLS was attempted" shows up as the server refusing it.
const refusesTls = /does not support SSL/i;

describe('DATABASE_URL sslmode', () => {
  it('makes the pool insist on TLS when sslmode=require', async () => {
    const error = await createDatabasePool(withSslMode('require'), { maxPoolSize: 1 }).then(
      (pool) => pool.end().then(() => undefined),
      (failure: Error) => failure,
    );
    expect(error?.message).to.match(refusesTls);
  });

  it('makes migrations insist on TLS when sslmode=require', async () => {
    const error = await migrate(withSslMode('require'), silentLog).then(
      () => undefined,
      (failure: Error) => failure,
    );
    expect(error?.message).to.match(refusesTls);
  });

  it('connects without TLS when sslmode=disable', async () => {
    const pool = await createDatabasePool(withSslMode('disable'), { maxPoolSize: 1 });
    await pool.end();
    expect(await migrate(withSslMode('disable'), silentLog)).to.deep.equal([]);
  });

  it('maps every libpq mode that turns TLS on to certificate-verifying TLS in both drivers', () => {
    for (const mode of ['allow', 'prefer', 'require', 'verify-ca', 'verify-full']) {
      const url = `postgres://u:p@db.example:5432/tasks?sslmode=${mode}&channel_binding=require`;
      expect(withDriverSslMode(url, 'slonik'), mode).to.equal(
        'postgres://u:p@db.example:5432/tasks?sslmode=require&channel_binding=require',
      );
      expect(withDriverSslMode(url, 'pg'), mode).to.equal(
        'postgres://u:p@db.example:5432/tasks?sslmode=verify-full&channel_binding=require',
      );
    }
    expect(withDriverSslMode('postgres://u:p@h/db?sslmode=disable', 'slonik')).to.equal('postgres://u:p@h/db?sslmode=disable');
    expect(withDriverSslMode('postgres://u:p@h/db?sslmode=no-verify', 'pg')).to.equal('postgres://u:p@h/db?sslmode=no-verify');
    expect(() => withDriverSslMode('postgres://u:p@h/db?sslmode=sometimes', 'pg')).to.throw(/unknown sslmode "sometimes"/);
  });
});
