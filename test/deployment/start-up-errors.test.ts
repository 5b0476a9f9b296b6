// A setting that is wrong is not an outage: the server exits at once with one line naming the
// setting to fix, instead of retrying for DATABASE_WAIT_SECONDS. Only an unreachable or starting
// server is retried (test/process/server.test.ts holds that, and the wrong password).
import { expect } from 'chai';
import { classifyDatabaseError } from '../../src/database/errors.ts';
import { testSecret } from '../support/api.ts';
import { createEmptyDatabase, directDatabaseUrl, testDatabaseUrl } from '../support/database.ts';
import { startPgBouncer, type PgBouncer } from '../support/pgbouncer.ts';
import { cleanEnvironment, runNodeToEnd, stopAll, type LogLine } from '../support/server-process.ts';

type Ended = Awaited<ReturnType<typeof runNodeToEnd>>;

const settings = (databaseUrl: string) => ({
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'info',
  BETTER_AUTH_SECRET: testSecret,
  DATABASE_URL: databaseUrl,
  // Long enough that a retried error could not end in time: exiting at once is the only way to pass.
  DATABASE_WAIT_SECONDS: '120',
});

const fatalLines = (run: Ended): LogLine[] => run.logs.filter((line) => line.level === 60);

function expectOneLineNaming(run: Ended, pattern: RegExp): void {
  expect(run.code, run.stdout + run.stderr).to.equal(1);
  expect(run.logs.filter((line) => line.msg === 'database not reachable yet; retrying')).to.deep.equal([]);
  expect(fatalLines(run).map((line) => line.msg)).to.have.length(1);
  expect(fatalLines(run)[0]!.msg).to.match(pattern);
  expect(run.stdout + run.stderr).not.to.match(/\n\s+at /);
  // Start-up and exit only (a loaded machine needs seconds); a retry would take two minutes.
  expect(run.elapsedMs).to.be.below(40_000);
}

describe('the server given a database setting that waiting cannot fix', function () {
  this.timeout(120_000);
  let bouncer: PgBouncer;
  let missingDatabase: Ended;
  let refusedParameter: Ended;
  let tlsRefused: Ended;

  before(async () => {
    const direct = directDatabaseUrl(testDatabaseUrl());
    bouncer = await startPgBouncer(directDatabaseUrl(await createEmptyDatabase('refused_parameter')));
    const missing = new URL(direct);
    missing.pathname = '/no_such_database';
    const withOptions = new URL(bouncer.urlFor(direct));
    withOptions.searchParams.set('options', '-c search_path=public');
    const withTls = new URL(direct);
    withTls.searchParams.set('sslmode', 'require');
    const start = (url: URL) => runNodeToEnd('src/server.ts', [], cleanEnvironment(settings(url.toString())), 90_000);
    [missingDatabase, refusedParameter, tlsRefused] = await Promise.all([start(missing), start(withOptions), start(withTls)]);
  });

  after(async () => {
    await stopAll();
    await bouncer?.stop();
  });

  it('exits at once naming DATABASE_URL when the database does not exist (3D000)', () => {
    expectOneLineNaming(missingDatabase, /^tasks-api cannot start: the database named in DATABASE_URL does not exist \(3D000: .+\); fix the path of DATABASE_URL or create the database$/);
  });

  it('exits at once naming DATABASE_URL and ignore_startup_parameters when a pooler refuses a start-up parameter (08P01)', () => {
    expectOneLineNaming(refusedParameter, /^tasks-api cannot start: the server \(a connection pooler such as PgBouncer\) refused a start-up parameter \(08P01: unsupported startup parameter: options\); .*DATABASE_URL.*ignore_startup_parameters$/);
  });

  it('exits at once naming sslmode in DATABASE_URL when TLS cannot be had', () => {
    expectOneLineNaming(tlsRefused, /^tasks-api cannot start: TLS to the database failed \(.+\); check the host name and sslmode in DATABASE_URL/);
  });

  it('classifies certificate and host-name mismatches as settings to fix, and outages as worth retrying', () => {
    const tls = (code: string) => Object.assign(new Error(`TLS failure ${code}`), { code });
    for (const code of ['ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED']) {
      expect(classifyDatabaseError(tls(code)), code).to.deep.equal({ sqlState: undefined, kind: 'misconfigured' });
    }
    const sqlError = (code: string, message = 'x') => Object.assign(new Error(message), { code });
    expect(classifyDatabaseError(sqlError('28P01')).kind).to.equal('misconfigured');
    expect(classifyDatabaseError(sqlError('3D000')).kind).to.equal('misconfigured');
    expect(classifyDatabaseError(sqlError('08P01', 'unsupported startup parameter: statement_timeout')).kind).to.equal('misconfigured');
    // PgBouncer's other refusals share 08P01 and are passing conditions.
    expect(classifyDatabaseError(sqlError('08P01', 'no more connections allowed (max_client_conn)')).kind).to.equal('unavailable');
    expect(classifyDatabaseError(sqlError('57P03', 'the database system is starting up')).kind).to.equal('unavailable');
    expect(classifyDatabaseError(sqlError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1')).kind).to.equal('unavailable');
    expect(classifyDatabaseError(new Error('wrapped', { cause: sqlError('42P05') }))).to.deep.equal({ sqlState: '42P05', kind: 'prepared-statement-lost' });
  });
});
