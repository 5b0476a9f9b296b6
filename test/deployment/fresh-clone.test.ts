// `NODE_ENV=production make run` on a fresh clone, on a machine whose own Node is older than the
// project needs (Node 20 here): make installs the pinned Node 24 whatever NODE_ENV says, and serves.
// A start on the machine's Node says in one line what is needed instead of failing on a stack.
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { findFreePort } from '../../src/database/embedded-postgres.ts';
import { testSecret } from '../support/api.ts';
import { createMigratedDatabase, directDatabaseUrl } from '../support/database.ts';
import { projectRoot } from '../support/server-process.ts';

const run = promisify(execFile);

// The outer run's PATH without this checkout's node_modules/.bin: the machine as a newcomer has it.
const machinePath = (process.env.PATH ?? '').split(path.delimiter).filter((entry) => !entry.includes('node_modules')).join(path.delimiter);

describe('a fresh clone', function () {
  this.timeout(600_000);
  let clone: string;

  before(async () => {
    clone = path.join(await mkdtemp(path.join(os.tmpdir(), 'tasks-api-clone-')), 'tasks-api');
    await mkdir(clone);
    // What `git clone` would give: the tracked files (and new ones not yet committed, while developing).
    const { stdout } = await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: projectRoot, maxBuffer: 16 * 1024 * 1024 });
    for (const file of stdout.split('\0').filter((name) => name !== '' && !name.startsWith('node_modules'))) {
      await cp(path.join(projectRoot, file), path.join(clone, file), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error; // Deleted in the working tree, not yet committed.
      });
    }
  });

  after(async () => {
    if (clone) await rm(path.dirname(clone), { recursive: true, force: true });
  });

  it('says in one line which Node it needs when started on the machine’s older Node', async function () {
    const { stdout: version } = await run('node', ['--version'], { env: { PATH: machinePath } });
    if (Number(/^v(\d+)/.exec(version)![1]) >= 24) this.skip(); // This machine's own Node is new enough.
    const failed = await run('node', ['src/check-node.js'], { cwd: clone, env: { PATH: machinePath } }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).to.equal(1);
    expect(failed?.stderr).to.match(/^tasks-api needs Node 24 or later, and this is Node v\d+\.\d+\.\d+ \(.+\)\. make installs the pinned Node 24 into node_modules\/\.bin .+\n$/);
    expect(failed?.stderr.trim().split('\n')).to.have.length(1);
  });

  it('serves with NODE_ENV=production make run', async () => {
    const port = await findFreePort();
    const make = spawn('make', ['run'], {
      cwd: clone,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: machinePath,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: directDatabaseUrl(await createMigratedDatabase('fresh_clone')),
        BETTER_AUTH_SECRET: testSecret,
        // Production never runs without push by accident: it needs the VAPID keys or this.
        PUSH: 'off',
      },
    });
    let output = '';
    make.stdout!.setEncoding('utf8').on('data', (chunk: string) => void (output += chunk));
    make.stderr!.setEncoding('utf8').on('data', (chunk: string) => void (output += chunk));
    const exited = new Promise<number | null>((resolve) => make.once('exit', (code) => resolve(code)));
    try {
      const deadline = performance.now() + 540_000;
      while (!output.includes(`tasks-api listening on http://localhost:${port}`)) {
        const code = make.exitCode;
        if (code !== null) throw new Error(`make run exited ${code}:\n${output}`);
        if (performance.now() > deadline) throw new Error(`make run did not serve in time:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const health = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(10_000) });
      expect(health.status).to.equal(200);
      expect(output).not.to.include('ERR_UNKNOWN_FILE_EXTENSION');
    } finally {
      if (make.exitCode === null) process.kill(-make.pid!, 'SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    }
  });
});
