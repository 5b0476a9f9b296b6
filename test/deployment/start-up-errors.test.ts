// A setting that is wrong is not an outage: the server exits at once with one line naming the
// setting to fix, instead of retrying for DATABASE_WAIT_SECONDS. Only an unreachable or starting
// server is retried (test/process/server.test.ts holds that, and the wrong password).
import { expect } from 'chai';
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
  PUSH: 'off',
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
});
