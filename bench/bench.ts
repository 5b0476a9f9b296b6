// `make bench`: the API under the fixed mixed workload, next to what PostgreSQL alone does with the
// same statements, and what the load generator itself can do. Everything on loopback, bounded in
// time. See README "Performance" for the variables and how to compare two checkouts.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pg from 'pg';
import { findFreePort, startEmbeddedPostgres } from '../src/database/embedded-postgres.ts';
import { withSqlClient } from '../test/support/database.ts';
import { createLogger } from '../src/logger.ts';
import { loadAverage, TreeMonitor } from './process-stats.ts';
import { httpTarget, minimalSqlTarget, productTarget } from './targets.ts';
import { startWireCounter, type WireCounts } from './wire-counter.ts';
import {
  mixes,
  operations,
  percentile,
  runOperation,
  runWorkload,
  TaskIds,
  type MixName,
  type Operation,
  type OperationResult,
  type Target,
  type WorkloadResult,
} from './workload.ts';

const repoDir = path.resolve(import.meta.dirname, '..');

function numberSetting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`${name} must be a number from ${min} to ${max}`);
  return value;
}

const mixName = (process.env.BENCH_MIX ?? 'standard') as MixName | 'reminders';
if (!['standard', 'domain', 'reminders'].includes(mixName)) throw new Error('BENCH_MIX must be standard, domain or reminders');

const settings = {
  mix: mixName,
  seconds: numberSetting('BENCH_SECONDS', 20, 1, 300),
  warmupSeconds: numberSetting('BENCH_WARMUP_SECONDS', 3, 0, 60),
  connections: numberSetting('BENCH_CONNECTIONS', 100, 1, 1000),
  users: numberSetting('BENCH_USERS', 1000, 1, 100_000),
  // The domain mix pages through a user's tasks with cursors: enough of them for several pages.
  tasksPerUser: numberSetting('BENCH_TASKS_PER_USER', mixName === 'domain' ? 100 : 20, 1, 1000),
  auth: (process.env.BENCH_AUTH ?? 'hs256') as 'hs256' | 'eddsa',
  apiDir: path.resolve(process.env.BENCH_API_DIR ?? repoDir),
  /**
   * Phases to run: generator (its own ceiling), api, stack (the API's HTTP stack alone: its
   * handlers answering from memory), roundtrips (statements and round trips per operation, counted
   * on the wire), product (the product's handlers and SQL without HTTP), sql (the minimal
   * one-statement-per-operation floor; standard mix only).
   */
  phases: new Set((process.env.BENCH_PHASES ?? 'generator,api,stack,roundtrips,product,sql').split(',').map((phase) => phase.trim())),
  /** Write a V8 CPU profile of the API process(es) into this folder. */
  cpuProfileDir: process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined,
  /** List the N statements PostgreSQL spent most time on during the API's measured window (pg_stat_statements). */
  pgStatements: numberSetting('BENCH_PG_STATEMENTS', 0, 0, 100),
  out: process.env.BENCH_OUT,
  poolMax: numberSetting('DATABASE_POOL_MAX', 10, 1, 1000),
};
if (!['hs256', 'eddsa'].includes(settings.auth)) throw new Error('BENCH_AUTH must be hs256 or eddsa');

const log = createLogger('warn');

async function waitFor(url: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`the API exited with code ${child.exitCode} before it was ready`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the API did not answer ${url} within ${deadlineMs} ms`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

type Auth = { env: Record<string, string>; tokens: string[]; close: () => Promise<void> };

/** HS256: a shared secret. EdDSA: a key pair whose public half a loopback JWKS server publishes. */
async function prepareAuth(userIds: readonly string[]): Promise<Auth> {
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  if (settings.auth === 'hs256') {
    const secret = randomBytes(32).toString('base64url');
    const key = new TextEncoder().encode(secret);
    const tokens = await Promise.all(
      userIds.map((sub) => new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(sub).setIssuedAt().setExpirationTime(expiresAt).sign(key)),
    );
    return { env: { BETTER_AUTH_SECRET: secret }, tokens, close: async () => {} };
  }
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-key-1', alg: 'EdDSA', use: 'sig' };
  const jwksBody = JSON.stringify({ keys: [jwk] });
  const server = createServer((request, response) => {
    if (request.url === '/api/auth/jwks') response.writeHead(200, { 'content-type': 'application/json' }).end(jwksBody);
    else response.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const baseUrl = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  // Better Auth's tokens: EdDSA, kid, no typ, iss and aud the Better Auth base URL.
  const tokens = await Promise.all(
    userIds.map((sub) =>
      new SignJWT({ email: `${sub}@example.com`, name: sub })
        .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid })
        .setSubject(sub)
        .setIssuer(baseUrl)
        .setAudience(baseUrl)
        .setIssuedAt()
        .setExpirationTime(expiresAt)
        .sign(privateKey),
    ),
  );
  return {
    env: { BETTER_AUTH_URL: baseUrl },
    tokens,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * 1,000 users × 20 tasks through SQL, a quarter of them completed, spread over the last 30 days.
 * The domain mix's seed also varies what its queries select on: a third of the tasks high
 * priority, tags (`home` on every third), due dates on half of them, and a search word (`report`,
 * in one title of five).
 */
async function seed(databaseUrl: string, userIds: readonly string[]): Promise<string[][]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const domain = settings.mix === 'domain';
    await client.query(
      `insert into tasks (owner_user_id, title, description, status, completed_at, created_at, updated_at, priority, tags, due_at, position)
       select u.id,
              'Seeded task ' || n || case when $3 then ' ' || (array['report', 'invoice', 'meeting', 'garden', 'review'])[n % 5 + 1] else '' end,
              case when n % 3 = 0 then null else 'Seeded by make bench, task ' || n end,
              case when n % 4 = 0 then 'completed' when n % 4 = 1 then 'in_progress' else 'pending' end,
              case when n % 4 = 0 then now() - interval '1 day' end,
              now() - (n * interval '36 hours') - (random() * interval '1 hour'), now() - (n * interval '36 hours'),
              case when $3 then (array['low', 'medium', 'high'])[n % 3 + 1] else 'medium' end,
              case when $3 then case when n % 3 = 0 then array['home', 'errands'] else array['work'] end else '{}' end,
              case when $3 and n % 2 = 0 then now() + ((n - 50) * interval '1 day') end,
              -- A distinct manual-order key per task of a user ('d' and n in four base-62 digits, as sql/0009 gives).
              'd' || substr(b.digits, (n / 238328) % 62 + 1, 1) || substr(b.digits, (n / 3844) % 62 + 1, 1)
                  || substr(b.digits, (n / 62) % 62 + 1, 1) || substr(b.digits, n % 62 + 1, 1)
       from unnest($1::text[]) as u(id), generate_series(1, $2) as n,
            (select '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'::text as digits) as b`,
      [userIds, settings.tasksPerUser, domain],
    );
    await client.query('vacuum analyze tasks');
    return await currentTaskIds(client, userIds);
  } finally {
    await client.end();
  }
}

/** Each user's task ids as they are now. */
async function currentTaskIds(client: pg.Client, userIds: readonly string[]): Promise<string[][]> {
  const { rows } = await client.query<{ owner_user_id: string; ids: string[] }>(
    'select owner_user_id, array_agg(id::text) as ids from tasks group by owner_user_id',
  );
  const byUser = new Map(rows.map((row) => [row.owner_user_id, row.ids]));
  return userIds.map((id) => byUser.get(id) ?? []);
}

/**
 * BENCH_MIX=reminders: the standard mix with 10,000 pending reminders in the database and the
 * reminder scheduler running in the API (its default, WORKER=on). The reminders are absolute
 * (remind_at), on random seeded tasks, due uniformly over the next 10 minutes: all 10,000 are
 * pending when the run starts and the scheduler fires a steady trickle of them (~17 a second)
 * while it runs. Needs the reminders feature (sql/…_add_task_reminders.sql) on main.
 */
async function prepareReminders(databaseUrl: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ present: boolean }>(`select to_regclass('task_reminders') is not null as present`);
    if (!rows[0]!.present) throw new Error('BENCH_MIX=reminders needs the reminders feature (the task_reminders table) on main');
    await client.query(
      `insert into task_reminders (owner_user_id, task_id, id, position, remind_at, fire_at, pending)
       select owner_user_id, id, gen_random_uuid(), 0, at, at, true
       from (select owner_user_id, id, now() + random() * interval '10 minutes' as at from tasks order by random() limit 10000) as chosen`,
    );
    await client.query('vacuum analyze task_reminders');
  } finally {
    await client.end();
  }
  // BENCH_WORKER=off: the same data without the scheduler, to tell its cost from the data's.
  return { WORKER: process.env.BENCH_WORKER ?? 'on' };
}

function gitDescribe(dir: string): string {
  try {
    const commit = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['-C', dir, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${commit}+changes` : commit;
  } catch {
    return 'unknown';
  }
}

function postmasterPid(clusterDirectory: string): number {
  return Number(readFileSync(path.join(clusterDirectory, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

type PhaseReport = {
  requestsPerSecond: number;
  cpuMsPerRequest: Record<string, number>;
  requests: number;
  non2xx: number;
  errors: number;
  latencyMs: Record<string, { count: number; p50: number; p95: number; p99: number; max: number }>;
  unexpectedStatuses: Record<string, number>;
  errorSamples: string[];
  cpuSeconds: Record<string, number>;
  peakRssMb?: { perProcess: number; total: number; processes: number };
  /** The API's and PostgreSQL's CPU spent in the kernel, as a share of their CPU (from /proc, not a profiler). */
  systemShare?: Record<string, number>;
};

const round = (value: number, digits = 1) => Number(value.toFixed(digits));

function latencyRow(result: OperationResult) {
  return {
    count: result.count,
    p50: round(percentile(result.latenciesMs, 0.5), 2),
    p95: round(percentile(result.latenciesMs, 0.95), 2),
    p99: round(percentile(result.latenciesMs, 0.99), 2),
    max: round(percentile(result.latenciesMs, 1), 2),
  };
}

function phaseReport(result: WorkloadResult, cpuSeconds: Record<string, number>): PhaseReport {
  return {
    requestsPerSecond: round(result.requests / result.seconds),
    // CPU per request does not depend on what else the machine is running: the figure to compare on a busy machine.
    cpuMsPerRequest: Object.fromEntries(Object.entries(cpuSeconds).map(([name, value]) => [name, round((value * 1000) / Math.max(1, result.requests), 3)])),
    requests: result.requests,
    non2xx: result.overall.non2xx,
    errors: result.overall.errors,
    latencyMs: {
      overall: latencyRow(result.overall),
      ...Object.fromEntries(operations.map((op) => [op, latencyRow(result.byOperation[op])])),
    },
    unexpectedStatuses: result.statuses,
    errorSamples: result.errorSamples,
    cpuSeconds: Object.fromEntries(Object.entries(cpuSeconds).map(([name, value]) => [name, round(value, 2)])),
  };
}

async function measureGeneratorCeiling(): Promise<PhaseReport> {
  const responder = spawn(process.execPath, [path.join(repoDir, 'bench/static-responder.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(responder.stdout!, 'data')) as [Buffer];
  const { port } = JSON.parse(line.toString()) as { port: number };
  const users = 100;
  const fakeIds = new TaskIds(Array.from({ length: users }, (_, user) => Array.from({ length: 20 }, (_, n) => `${user}-${n}`)));
  const target = httpTarget(`http://127.0.0.1:${port}`, Array.from({ length: users }, () => 'x'), settings.connections);
  await runWorkload(target, fakeIds, { connections: settings.connections, seconds: Math.min(settings.warmupSeconds, 1) });
  const responderCpu = new TreeMonitor(responder.pid!);
  const generatorCpu = process.cpuUsage();
  const result = await runWorkload(target, fakeIds, { connections: settings.connections, seconds: Math.min(settings.seconds, 5) });
  const generatorSeconds = cpuSecondsSince(generatorCpu);
  const responderStats = responderCpu.stop();
  await target.close();
  await stopChild(responder);
  return phaseReport(result, { generator: generatorSeconds, responder: responderStats.cpuSeconds });
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const usage = process.cpuUsage(start);
  return (usage.user + usage.system) / 1e6;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const header = {
    startedAt: startedAt.toISOString(),
    loadAverageAtStart: loadAverage(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGb: round(os.totalmem() / 2 ** 30), node: process.version },
    api: { dir: settings.apiDir, commit: gitDescribe(settings.apiDir) },
    settings: {
      mix: settings.mix,
      seconds: settings.seconds,
      warmupSeconds: settings.warmupSeconds,
      connections: settings.connections,
      users: settings.users,
      tasksPerUser: settings.tasksPerUser,
      auth: settings.auth,
      databasePoolMax: settings.poolMax,
      webConcurrency: process.env.WEB_CONCURRENCY ?? '(unset)',
      apiNodeOptions: [process.env.API_NODE_OPTIONS, process.env.BENCH_API_NODE_OPTIONS].filter(Boolean).join(' ') || '(none)',
      apiMallocArenaMax: process.env.MALLOC_ARENA_MAX ?? process.env.API_MALLOC_ARENA_MAX ?? '(unset)',
      apiNodeCompileCache: process.env.NODE_COMPILE_CACHE ?? process.env.API_NODE_COMPILE_CACHE ?? '(unset)',
    },
  };
  console.log(`make bench: load average at start ${header.loadAverageAtStart} on ${header.machine.cpus} CPUs (${header.machine.cpuModel})`);
  console.log(`API from ${header.api.dir} at ${header.api.commit}; ${settings.mix} mix, ${settings.connections} connections, ${settings.seconds} s (+${settings.warmupSeconds} s warm-up), ${settings.auth}`);
  console.log(`API node options: ${header.settings.apiNodeOptions}; MALLOC_ARENA_MAX ${header.settings.apiMallocArenaMax}; NODE_COMPILE_CACHE ${header.settings.apiNodeCompileCache}`);

  const reports: Record<string, PhaseReport> = {};
  if (settings.phases.has('generator')) {
    console.log('… generator ceiling (static responder)');
    reports.generatorCeiling = await measureGeneratorCeiling();
  }

  const workDir = await mkdtemp(path.join(os.tmpdir(), 'tasks-api-bench-'));
  await chmod(workDir, 0o755);
  const postgres = await startEmbeddedPostgres({
    dataDirectory: workDir,
    databaseName: 'tasks',
    log,
    settings: settings.pgStatements > 0 ? { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track_planning': 'on' } : {},
  });
  const apis: ChildProcess[] = [];
  let auth: Auth | undefined;
  let roundTrips: Record<string, Partial<Record<Operation, WireCounts>>> | undefined;
  const mix = settings.mix === 'reminders' ? mixes.standard : mixes[settings.mix];
  try {
    const userIds = Array.from({ length: settings.users }, (_, index) => `bench-user-${String(index + 1).padStart(4, '0')}`);
    auth = await prepareAuth(userIds);
    const tokens = auth.tokens;
    const baseEnv: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'production',
      // As before production required a choice: no Web Push (the bench has no push service).
      PUSH: 'off',
      HOST: '127.0.0.1',
      DATA_DIR: path.join(workDir, 'api-data'),
      ...auth.env,
    };
    for (const name of ['BETTER_AUTH_SECRET', 'BETTER_AUTH_URL', 'JWT_JWKS_URL', 'JWT_ISSUER', 'JWT_AUDIENCE']) {
      if (!(name in auth.env)) delete baseEnv[name];
    }
    // The API runs with the memory settings of `make run` (the Makefile hands them over as
    // API_NODE_OPTIONS and API_MALLOC_ARENA_MAX; README "Memory"), not with this process's.
    if (process.env.API_NODE_OPTIONS) baseEnv.NODE_OPTIONS = `${baseEnv.NODE_OPTIONS ?? ''} ${process.env.API_NODE_OPTIONS}`.trim();
    if (process.env.API_MALLOC_ARENA_MAX && !process.env.MALLOC_ARENA_MAX) baseEnv.MALLOC_ARENA_MAX = process.env.API_MALLOC_ARENA_MAX;
    if (process.env.API_NODE_COMPILE_CACHE && !process.env.NODE_COMPILE_CACHE) baseEnv.NODE_COMPILE_CACHE = process.env.API_NODE_COMPILE_CACHE;
    // Node flags for the API only (e.g. --max-old-space-size=96), not for this process; after the
    // run settings, so they win.
    if (process.env.BENCH_API_NODE_OPTIONS) baseEnv.NODE_OPTIONS = `${baseEnv.NODE_OPTIONS ?? ''} ${process.env.BENCH_API_NODE_OPTIONS}`.trim();

    // Node flags that NODE_OPTIONS refuses (e.g. --trace-gc, --heap-growing-percent=…), for the API's command line.
    const apiNodeArguments = (process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean);
    /** Starts an API on `databaseUrl`; its own log goes to a file (reading it here would charge its cost to the generator). */
    const startApi = async (name: string, databaseUrl: string, extraEnv: NodeJS.ProcessEnv = {}, entry = 'src/server.ts') => {
      const port = await findFreePort();
      const logPath = path.join(workDir, `${name}.log`);
      const logFd = openSync(logPath, 'a');
      const child = spawn(process.execPath, [...apiNodeArguments, entry], {
        cwd: settings.apiDir,
        env: { ...baseEnv, PORT: String(port), DATABASE_URL: databaseUrl, ...extraEnv },
        stdio: ['ignore', logFd, logFd],
      });
      apis.push(child);
      const baseUrl = `http://127.0.0.1:${port}`;
      await waitFor(`${baseUrl}/ready`, child, 60_000);
      return { child, baseUrl, logPath };
    };
    const idsNow = () => withSqlClient(postgres.url, (client) => currentTaskIds(client, userIds));
    // A start that stops at the configuration check has loaded every module: it fills the compile
    // cache (when there is one, as `make run` and the Dockerfile have), so the measured API starts
    // as a deployed one does, without the TypeScript stripper resident (README "Memory").
    if (baseEnv.NODE_COMPILE_CACHE) {
      const filling = spawn(process.execPath, ['src/server.ts'], { cwd: settings.apiDir, env: { ...baseEnv, PORT: 'not-a-port' }, stdio: 'ignore' });
      await once(filling, 'exit');
    }
    const pgPid = postmasterPid(path.join(workDir, 'postgres'));
    let taskIds: string[][] | undefined;
    // An API migrates the database when it starts; the seed comes after.
    const schemaReady = async () => {
      if (apis.length === 0) await stopChild((await startApi('migrate', postgres.url)).child);
      taskIds ??= await seed(postgres.url, userIds);
      return taskIds;
    };

    /** The workload over HTTP against a started API: warm-up, then the measured window, with its CPU and memory. */
    const measureOverHttp = async (api: { child: ChildProcess; baseUrl: string }): Promise<PhaseReport> => {
      await schemaReady();
      // The tasks that exist now: an earlier phase deleted some of the seed.
      const ids = new TaskIds(await idsNow());
      const target = httpTarget(api.baseUrl, tokens, settings.connections);
      // Warm-up first (JIT, pool connections, JWKS fetch), then the measured window.
      await runWorkload(target, ids, { connections: settings.connections, seconds: settings.warmupSeconds, mix });
      if (settings.pgStatements > 0) await resetStatementStats(postgres.url);
      const apiMonitor = new TreeMonitor(api.child.pid!);
      const pgMonitor = new TreeMonitor(pgPid);
      const generatorCpu = process.cpuUsage();
      const result = await runWorkload(target, ids, { connections: settings.connections, seconds: settings.seconds, mix });
      const generatorSeconds = cpuSecondsSince(generatorCpu);
      const apiStats = apiMonitor.stop();
      const pgStats = pgMonitor.stop();
      await target.close();
      if (settings.pgStatements > 0) await printStatementStats(postgres.url, settings.pgStatements, result.requests);
      await stopChild(api.child);
      return {
        ...phaseReport(result, { api: apiStats.cpuSeconds, postgres: pgStats.cpuSeconds, generator: generatorSeconds }),
        systemShare: {
          api: round(apiStats.systemSeconds / Math.max(apiStats.cpuSeconds, 0.01), 2),
          postgres: round(pgStats.systemSeconds / Math.max(pgStats.cpuSeconds, 0.01), 2),
        },
        peakRssMb: {
          perProcess: round(apiStats.peakRssBytesPerProcess / 2 ** 20),
          total: round(apiStats.peakRssBytesTotal / 2 ** 20),
          processes: apiStats.processes,
        },
      };
    };

    // What the API's process needs besides the run settings (the reminders mix's scheduler settings).
    const apiEnv: NodeJS.ProcessEnv = {};
    if (settings.mix === 'reminders') {
      // Migrations and the seed first, then the reminders, then the API that schedules them.
      await schemaReady();
      Object.assign(apiEnv, await prepareReminders(postgres.url));
    }

    if (settings.phases.has('api')) {
      const extraEnv: NodeJS.ProcessEnv = { ...apiEnv };
      if (settings.cpuProfileDir) {
        await mkdir(settings.cpuProfileDir, { recursive: true });
        extraEnv.NODE_OPTIONS = `${baseEnv.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${settings.cpuProfileDir}`.trim();
      }
      const api = await startApi('api', postgres.url, extraEnv);
      console.log(`… API (${settings.users} users × ${settings.tasksPerUser} tasks seeded, ${settings.mix} mix; log in ${api.logPath})`);
      reports.api = await measureOverHttp(api);
    }

    if (settings.phases.has('stack')) {
      // The same API process with every operation answering from memory (bench/stack-floor-api.ts).
      const api = await startApi('stack-floor', postgres.url, apiEnv, path.join(repoDir, 'bench/stack-floor-api.ts'));
      console.log(`… HTTP stack floor (the API with its handlers answering from memory: no handler code, no SQL per request)`);
      reports.stackFloor = await measureOverHttp(api);
    }

    if (settings.phases.has('roundtrips')) {
      console.log('… round trips per operation (one request at a time, counted on the wire to PostgreSQL)');
      const counter = await startWireCounter(postgres.url);
      try {
        // Background work off (WORKER: the reminders scheduler), so only each request's own statements are counted.
        const api = await startApi('api-roundtrips', counter.urlFor(postgres.url), { WORKER: 'off' });
        await schemaReady();
        const target = httpTarget(api.baseUrl, auth.tokens, 1);
        roundTrips = { api: await countRoundTrips(target, new TaskIds(await idsNow()), mix, counter.counts) };
        await target.close();
        await stopChild(api.child);
        if (settings.phases.has('product')) {
          const product = await productTarget(settings.apiDir, counter.urlFor(postgres.url), userIds, 1);
          roundTrips.product = await countRoundTrips(product, new TaskIds(await idsNow()), mix, counter.counts);
          await product.close();
        }
      } finally {
        await counter.close();
      }
    }

    const measureWithoutHttp = async (target: Target & { close: () => Promise<void> }, cpuName: string) => {
      const ids = new TaskIds(await idsNow());
      await runWorkload(target, ids, { connections: settings.connections, seconds: Math.min(settings.warmupSeconds, 2), mix });
      const pgMonitor = new TreeMonitor(pgPid);
      const clientCpu = process.cpuUsage();
      const result = await runWorkload(target, ids, { connections: settings.connections, seconds: settings.seconds, mix });
      const clientSeconds = cpuSecondsSince(clientCpu);
      const pgStats = pgMonitor.stop();
      await target.close();
      return phaseReport(result, { postgres: pgStats.cpuSeconds, [cpuName]: clientSeconds });
    };

    if (settings.phases.has('product')) {
      await schemaReady();
      console.log(`… product ceiling (the API's handlers and SQL without HTTP, ${settings.connections} concurrent, pool of ${settings.poolMax})`);
      reports.productCeiling = await measureWithoutHttp(await productTarget(settings.apiDir, postgres.url, userIds, settings.poolMax), 'handlers');
    }

    if (settings.phases.has('sql')) {
      if (settings.mix === 'domain') console.log('… minimal SQL floor skipped: it has statements for the standard mix only');
      else {
        await schemaReady();
        console.log(`… minimal SQL floor (one statement per operation, pg, ${settings.connections} concurrent, pool of ${settings.poolMax})`);
        reports.minimalSqlFloor = await measureWithoutHttp(minimalSqlTarget(postgres.url, userIds, settings.poolMax), 'client');
      }
    }
  } finally {
    for (const api of apis) await stopChild(api);
    await auth?.close();
    await postgres.stop();
    if (!process.env.BENCH_KEEP) await rm(workDir, { recursive: true, force: true });
  }

  const fractionOf = (ceiling: PhaseReport | undefined) =>
    reports.api && ceiling ? round(reports.api.requestsPerSecond / ceiling.requestsPerSecond, 3) : undefined;
  const summary = {
    ...header,
    loadAverageAtEnd: loadAverage(),
    ...reports,
    roundTripsPerOperation: roundTrips,
    apiFractionOfProductCeiling: fractionOf(reports.productCeiling),
    apiFractionOfMinimalSqlFloor: fractionOf(reports.minimalSqlFloor),
    apiFractionOfStackFloor: fractionOf(reports.stackFloor),
    apiCpuMsAboveStackFloor:
      reports.api && reports.stackFloor ? round(reports.api.cpuMsPerRequest.api! - reports.stackFloor.cpuMsPerRequest.api!, 3) : undefined,
    generatorRequestsPerCpuSecond: reports.generatorCeiling
      ? round(reports.generatorCeiling.requests / reports.generatorCeiling.cpuSeconds.generator!)
      : undefined,
  };
  printTable(summary, reports);
  const out = settings.out ?? path.join(repoDir, 'bench/results', `${startedAt.toISOString().replaceAll(':', '-')}-${settings.auth}-${settings.mix}.json`);
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`\nJSON (also in ${path.relative(process.cwd(), out)}):`);
  console.log(JSON.stringify(summary));
}

async function resetStatementStats(url: string): Promise<void> {
  await withSqlClient(url, async (client) => {
    await client.query('create extension if not exists pg_stat_statements');
    await client.query('select pg_stat_statements_reset()');
  });
}

/** Where PostgreSQL's time went: the statements with the most planning plus execution time, per request of the window. */
async function printStatementStats(url: string, top: number, requests: number): Promise<void> {
  // `all_ms` sums every statement (the window runs before the limit), so one query answers both.
  const { rows } = await withSqlClient(url, (client) =>
    client.query<{ calls: string; plans: string; plan_ms: number; exec_ms: number; max_ms: number; all_ms: number; query: string }>(
      `select calls, plans, total_plan_time as plan_ms, total_exec_time as exec_ms, max_exec_time as max_ms,
              sum(total_plan_time + total_exec_time) over () as all_ms, query
       from pg_stat_statements order by total_plan_time + total_exec_time desc limit $1`,
      [top],
    ),
  );
  console.log(`  PostgreSQL planning + execution: ${((rows[0]?.all_ms ?? 0) / requests).toFixed(3)} ms per API request; top ${top}:`);
  console.log(`  ${'calls'.padStart(8)} ${'plans'.padStart(8)} ${'plan ms'.padStart(9)} ${'exec ms'.padStart(9)} ${'µs/call'.padStart(8)} ${'max ms'.padStart(7)}  statement`);
  for (const row of rows) {
    const perCall = ((row.plan_ms + row.exec_ms) * 1000) / Number(row.calls);
    const text = row.query.replaceAll(/\s+/g, ' ').slice(0, 110);
    console.log(`  ${row.calls.padStart(8)} ${row.plans.padStart(8)} ${row.plan_ms.toFixed(0).padStart(9)} ${row.exec_ms.toFixed(0).padStart(9)} ${perCall.toFixed(0).padStart(8)} ${row.max_ms.toFixed(1).padStart(7)}  ${text}`);
  }
}

/**
 * Statements and round trips each operation of the mix costs, read on the wire: after a warm-up
 * (connections open, statements prepared), each operation runs `times` times, one at a time, and
 * the counts between its start and its answer are averaged.
 */
async function countRoundTrips(
  target: Target,
  ids: TaskIds,
  mix: ReadonlyArray<readonly [Operation, number]>,
  counts: () => WireCounts,
  times = 20,
): Promise<Partial<Record<Operation, WireCounts>>> {
  const cursors = new Map<number, string>();
  const result: Partial<Record<Operation, WireCounts>> = {};
  for (const [operation] of mix) {
    let roundTrips = 0;
    let statements = 0;
    for (let run = -3; run < times; run += 1) {
      const userIndex = Math.floor(Math.random() * ids.users);
      const taskId =
        operation === 'delete' ? ids.takeForDelete(userIndex) : ['get', 'update', 'complete'].includes(operation) ? ids.take(userIndex) : undefined;
      const before = counts();
      const status = await runOperation(target, operation, userIndex, taskId, cursors, (id) => ids.add(userIndex, id));
      const after = counts();
      if (taskId !== undefined && operation !== 'delete') ids.release(taskId);
      if (status >= 300) throw new Error(`round trips: ${operation} answered ${status}`);
      if (run < 0) continue; // warm-up
      roundTrips += after.roundTrips - before.roundTrips;
      statements += after.statements - before.statements;
    }
    result[operation] = { roundTrips: round(roundTrips / times, 2), statements: round(statements / times, 2) };
  }
  return result;
}

function printTable(
  summary: {
    loadAverageAtEnd: string;
    apiFractionOfProductCeiling?: number;
    apiFractionOfMinimalSqlFloor?: number;
    apiFractionOfStackFloor?: number;
    apiCpuMsAboveStackFloor?: number;
    generatorRequestsPerCpuSecond?: number;
    roundTripsPerOperation?: Record<string, Partial<Record<Operation, WireCounts>>>;
  },
  reports: Record<string, PhaseReport>,
): void {
  for (const [name, report] of Object.entries(reports)) {
    console.log(`\n${name}: ${report.requestsPerSecond} requests/s (${report.requests} requests), non-2xx ${report.non2xx}, errors ${report.errors}`);
    const rows = Object.entries(report.latencyMs).filter(([, row]) => row.count > 0).map(([op, row]) => ({ operation: op, ...row }));
    console.log(`  ${'operation'.padEnd(10)} ${'count'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}`);
    for (const row of rows) {
      console.log(
        `  ${row.operation.padEnd(10)} ${String(row.count).padStart(8)} ${row.p50.toFixed(2).padStart(8)} ${row.p95.toFixed(2).padStart(8)} ${row.p99.toFixed(2).padStart(8)} ${row.max.toFixed(2).padStart(8)}`,
      );
    }
    console.log(`  CPU seconds: ${Object.entries(report.cpuSeconds).map(([who, seconds]) => `${who} ${seconds}`).join(', ')}`);
    console.log(`  CPU ms per request: ${Object.entries(report.cpuMsPerRequest).map(([who, ms]) => `${who} ${ms}`).join(', ')}`);
    if (report.systemShare) console.log(`  in the kernel (system calls): ${Object.entries(report.systemShare).map(([who, share]) => `${who} ${Math.round(share * 100)}%`).join(', ')} of its CPU`);
    if (report.peakRssMb) console.log(`  peak RSS: ${report.peakRssMb.perProcess} MB per API process (${report.peakRssMb.processes} process(es), ${report.peakRssMb.total} MB together)`);
    if (Object.keys(report.unexpectedStatuses).length > 0) console.log(`  unexpected statuses: ${JSON.stringify(report.unexpectedStatuses)}`);
    if (report.errorSamples.length > 0) console.log(`  errors: ${report.errorSamples.join(' | ')}`);
  }
  if (summary.roundTripsPerOperation) {
    const sides = Object.keys(summary.roundTripsPerOperation);
    console.log(`\nround trips / statements to PostgreSQL per operation (${sides.join(' | ')}):`);
    for (const operation of operations) {
      const cells = sides.map((side) => summary.roundTripsPerOperation![side]![operation]);
      if (cells.every((cell) => cell === undefined)) continue;
      console.log(`  ${operation.padEnd(10)} ${cells.map((cell) => (cell ? `${cell.roundTrips} / ${cell.statements}` : '—').padStart(12)).join(' ')}`);
    }
  }
  console.log('');
  if (summary.apiFractionOfProductCeiling !== undefined) console.log(`API throughput / product ceiling (its handlers and SQL, no HTTP): ${(summary.apiFractionOfProductCeiling * 100).toFixed(1)}%`);
  if (summary.apiFractionOfMinimalSqlFloor !== undefined) console.log(`API throughput / minimal SQL floor (one statement per operation): ${(summary.apiFractionOfMinimalSqlFloor * 100).toFixed(1)}%`);
  if (summary.apiFractionOfStackFloor !== undefined) console.log(`API throughput / HTTP stack floor (the same process, handlers answering from memory): ${(summary.apiFractionOfStackFloor * 100).toFixed(1)}%`);
  if (summary.apiCpuMsAboveStackFloor !== undefined) console.log(`API CPU per request above the HTTP stack floor (handlers, SQL and their share of GC): ${summary.apiCpuMsAboveStackFloor} ms`);
  if (summary.generatorRequestsPerCpuSecond !== undefined) console.log(`generator: ${summary.generatorRequestsPerCpuSecond} requests per CPU-second of its own`);
  console.log(`load average at end: ${summary.loadAverageAtEnd}`);
}

await main();
process.exit(0);
