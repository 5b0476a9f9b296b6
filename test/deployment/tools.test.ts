// scripts/find-tool.sh: how `make test` finds Chrome/Chromium and PgBouncer on any machine, and says
// in one line what to install when it cannot (never a silent skip).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { projectRoot } from '../support/server-process.ts';

const run = promisify(execFile);
const script = path.join(projectRoot, 'scripts/find-tool.sh');

type Outcome = { readonly code: number; readonly stdout: string; readonly stderr: string };
const findTool = (args: readonly string[], env: NodeJS.ProcessEnv): Promise<Outcome> =>
  run(script, args, { env: { PATH: process.env.PATH, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );

describe('scripts/find-tool.sh', () => {
  it('prints the executable that CHROMIUM_PATH / PGBOUNCER_PATH names, before anything on PATH', async () => {
    expect(await findTool(['pgbouncer'], { PGBOUNCER_PATH: '/bin/true' })).to.deep.equal({ code: 0, stdout: '/bin/true\n', stderr: '' });
    expect(await findTool(['chromium'], { CHROMIUM_PATH: '/bin/true' })).to.deep.equal({ code: 0, stdout: '/bin/true\n', stderr: '' });
  });

  it('stops with one line, and installs nothing, when the named executable is not there', async () => {
    expect(await findTool(['pgbouncer', '--install'], { PGBOUNCER_PATH: '/nonexistent/pgbouncer' })).to.deep.equal({
      code: 1,
      stdout: '',
      stderr: 'PGBOUNCER_PATH=/nonexistent/pgbouncer is not an executable file\n',
    });
  });

  it('finds what the machine has installed (make test needs both here)', async () => {
    for (const tool of ['pgbouncer', 'chromium']) {
      const found = await findTool([tool], {});
      expect(found.code, found.stderr).to.equal(0);
      expect(found.stdout).to.match(/^\/\S+\n$/);
    }
  });
});
