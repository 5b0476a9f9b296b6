// A second Ctrl-C must not cut the stop short. With WEB_CONCURRENCY > 1 the primary owns the
// embedded PostgreSQL; if a second signal killed it while its workers were still draining, the
// database would be left running with nobody to stop it.
import { rm } from 'node:fs/promises';
import { expect } from 'chai';
import { newDataDirectory } from '../support/api-process.ts';
import { cleanEnvironment, isRunning, postmasterPid, runNode, stopAll, waitUntilGone } from '../support/server-process.ts';

const listening = /^tasks-api listening on http:\/\/localhost:(\d+)$/;

describe('the cluster primary receiving a second signal while it stops', function () {
  this.timeout(90_000);
  let dataDirectory: string;

  before(async () => {
    dataDirectory = await newDataDirectory('cluster-signals');
  });

  after(async () => {
    await stopAll([dataDirectory]);
    await rm(dataDirectory, { recursive: true, force: true });
  });

  it('finishes stopping its workers and its embedded PostgreSQL, and exits 0', async () => {
    // A drain period keeps the workers busy stopping when the second signal arrives.
    const server = runNode(
      'src/server.ts',
      [],
      cleanEnvironment({ NODE_ENV: 'development', DATA_DIR: dataDirectory, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', WEB_CONCURRENCY: '2', SHUTDOWN_DRAIN_SECONDS: '1' }),
    );
    const first = await server.waitForLog((line) => listening.test(line.msg ?? ''), 60_000);
    await server.waitForLog((line) => line !== first && listening.test(line.msg ?? ''), 30_000);
    const postgres = postmasterPid(dataDirectory);
    expect(postgres).to.be.a('number');

    server.child.kill('SIGINT');
    await server.waitForLog((line) => line.msg === 'stopping workers', 10_000);
    server.child.kill('SIGINT');
    const exit = await server.waitForExit(30_000);

    expect(exit).to.include({ code: 0, signal: null });
    expect(await waitUntilGone(postgres!, 5_000)).to.equal(true);
    expect(isRunning(postgres!)).to.equal(false);
  });
});
