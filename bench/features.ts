// What each operating feature costs per request: the real app (src/app.ts) over a real pool on a
// fresh embedded PostgreSQL, driven in this process one request at a time (a get and a first page,
// alternately), once with everything at its production default and once with one feature changed.
// The figure is this process's CPU per request (client, app and pool; PostgreSQL is another
// process), the least of BENCH_ROUNDS rounds: a busy machine only ever adds, so the least is the
// closest to the truth and the differences between configurations are the features' own.
// A second table gives each operating middleware's own CPU per request, measured alone (below).
// Usage: node bench/features.ts   (BENCH_REQUESTS=2000, BENCH_ROUNDS=5, BENCH_ALONE_REQUESTS=20000)
import { once } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { openSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import { SignJWT } from 'jose';
import { Pool } from 'undici';
import { createApp, type AppOptions } from '../src/app.ts';
import { bearerSecurityHandler, createAuthenticator } from '../src/auth.ts';
import { corsFor } from '../src/cors.ts';
import { rateLimiters } from '../src/limits.ts';
import { createMetrics } from '../src/metrics.ts';
import { trackRequests } from '../src/request-log.ts';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.ts';
import { migrate } from '../src/database/migrations.ts';
import { createDatabasePool } from '../src/database/pool.ts';
import { bufferedJsonLines, createLogger } from '../src/logger.ts';

const requests = Number(process.env.BENCH_REQUESTS ?? 2000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const aloneRequests = Number(process.env.BENCH_ALONE_REQUESTS ?? 20000);
const secret = 'bench-features-secret-0123456789abcdef';
const quiet = createLogger('warn');

const directory = await mkdtemp(path.join(os.tmpdir(), 'tasks-api-features-'));
await chmod(directory, 0o755);
const database = await startEmbeddedPostgres({ dataDirectory: directory, databaseName: 'tasks', log: quiet });
try {
  await migrate(database.url, quiet);
  const pool = await createDatabasePool(database.url, { maxPoolSize: 10 });
  const users = Array.from({ length: 50 }, (_, index) => `features-user-${index}`);
  const tokens = await Promise.all(
    users.map((sub) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(secret))),
  );
  // The production log: pino JSON lines at info, buffered as a server writes them (to a file here).
  // The destination owns the file: ending it writes what is buffered, then closes it.
  const productionLines = bufferedJsonLines(openSync(path.join(directory, 'requests.log'), 'a'));
  const productionLog = createLogger('info', { destination: productionLines });
  const defaults: AppOptions = {
    context: { db: pool, isShuttingDown: () => false },
    authenticate: createAuthenticator({ secret: { secret, issuer: undefined, audience: undefined } }),
    log: productionLog,
    bodyLimitBytes: 65_536,
    validateResponses: false,
    // RATE_LIMIT_* defaults; 50 users keep every one of them far below its limit here.
    rateLimits: { windowMs: 60_000, perUser: 600, perIp: 600 },
  };
  const configurations: ReadonlyArray<readonly [string, Partial<AppOptions>]> = [
    ['production defaults', {}],
    ['request log off (level warn)', { log: quiet }],
    ['rate limits off', { rateLimits: undefined }],
    ['metrics on (METRICS_TOKEN)', { metricsToken: 'a-metrics-token-of-16-characters' }],
    ['CORS on (CORS_ORIGINS, requests with Origin)', { corsOrigins: ['https://app.example.com'] }],
  ];

  const measure = async (options: AppOptions, origin: boolean): Promise<number> => {
    const server = createApp(options).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 1 });
    const ids: string[] = [];
    for (const [index, token] of tokens.entries()) {
      const response = await client.request({
        method: 'POST',
        path: '/api/tasks',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: `Features ${index}` }),
      });
      ids.push(((await response.body.json()) as { id: string }).id);
    }
    const send = async (index: number) => {
      const user = index % tokens.length;
      const headers: Record<string, string> = { authorization: `Bearer ${tokens[user]}` };
      if (origin) headers.origin = 'https://app.example.com';
      const response = await client.request({ method: 'GET', path: index % 2 === 0 ? `/api/tasks/${ids[user]}` : '/api/tasks', headers });
      await response.body.dump();
      if (response.statusCode !== 200) throw new Error(`answered ${response.statusCode}`);
    };
    for (let index = 0; index < 300; index += 1) await send(index);
    const start = process.cpuUsage();
    for (let index = 0; index < requests; index += 1) await send(index);
    const used = process.cpuUsage(start);
    await client.close();
    server.close();
    return (used.user + used.system) / requests;
  };

  const best = new Map<string, number>();
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, change] of configurations) {
      const micros = await measure({ ...defaults, ...change }, name.startsWith('CORS'));
      best.set(name, Math.min(best.get(name) ?? Infinity, micros));
    }
  }
  const baseline = best.get('production defaults')!;
  console.log(`CPU per request of this process (least of ${rounds} rounds of ${requests}; load average ${os.loadavg()[0]!.toFixed(1)})`);
  for (const [name, micros] of best) {
    const delta = micros - baseline;
    console.log(`  ${name.padEnd(46)} ${micros.toFixed(1).padStart(7)} µs${name === 'production defaults' ? '' : `  (${delta >= 0 ? '+' : ''}${delta.toFixed(1)} µs)`}`);
  }

  // Each middleware alone: an express app with only it in front of a handler that answers at once,
  // requests handed to it in this process (no socket, no database), so its own CPU is not lost in
  // the noise of a whole request. A verified caller first (the token cache's hit, as the API does
  // for a known token), so the per-user limit and the log's user id take their usual path.
  const verify = bearerSecurityHandler(defaults.authenticate);
  const authenticated: RequestHandler = (request, _response, next) => {
    verify(request).then(() => next(), next);
  };
  const aloneConfigurations: ReadonlyArray<readonly [string, RequestHandler[]]> = [
    ['nothing (a verified caller only)', []],
    ['helmet', [helmet()]],
    ['request id and log line (info)', [trackRequests(productionLog, undefined)]],
    ['request id, log line and metrics', [trackRequests(productionLog, createMetrics({ token: 'a-metrics-token-of-16-characters', pool }).observer)]],
    // Limits this run never reaches: every request takes the counting path, none is refused.
    ['rate limits (per user and per address)', rateLimiters({ ...defaults.rateLimits!, perUser: 1e9, perIp: 1e9 }, quiet)],
    ['CORS (a request with an allowed Origin)', [corsFor(['https://app.example.com'])]],
  ];
  const socket = new Socket();
  const answered = new WeakMap<IncomingMessage, () => void>();
  const measureAlone = async (middleware: RequestHandler[]): Promise<number> => {
    const app = express();
    // express's own entry point for a request (what its http listener calls), untyped in @types/express.
    const handle = (app as unknown as { handle: (request: IncomingMessage, response: ServerResponse, done: (error?: unknown) => void) => void }).handle.bind(app);
    app.use(authenticated, ...middleware, (request, response) => {
      response.status(200).end('{}');
      // No socket takes the bytes, so the response says it has finished as a sent one would.
      response.emit('finish');
      answered.get(request)!();
    });
    const handOver = (index: number) =>
      new Promise<void>((resolve, reject) => {
        const request = new IncomingMessage(socket);
        request.method = 'GET';
        request.url = '/api/tasks/6f1c2a9e-8d4b-4c47-9a3e-2b7f0d5e1c83';
        request.headers = { host: '127.0.0.1', authorization: `Bearer ${tokens[index % tokens.length]}`, origin: 'https://app.example.com' };
        answered.set(request, resolve);
        handle(request, new ServerResponse(request), reject);
      });
    for (let index = 0; index < 1000; index += 1) await handOver(index);
    const start = process.cpuUsage();
    for (let index = 0; index < aloneRequests; index += 1) await handOver(index);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / aloneRequests;
  };
  const bestAlone = new Map<string, number>();
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, middleware] of aloneConfigurations) bestAlone.set(name, Math.min(bestAlone.get(name) ?? Infinity, await measureAlone(middleware)));
  }
  const nothing = bestAlone.get('nothing (a verified caller only)')!;
  console.log(`Each middleware alone, in this process without sockets (least of ${rounds} rounds of ${aloneRequests}; load average ${os.loadavg()[0]!.toFixed(1)})`);
  for (const [name, micros] of bestAlone) {
    console.log(`  ${name.padEnd(46)} ${micros.toFixed(1).padStart(7)} µs${micros === nothing ? '' : `  (+${(micros - nothing).toFixed(1)} µs)`}`);
  }

  await pool.end();
  productionLines.end();
  await once(productionLines, 'close');
} finally {
  await database.stop();
  await rm(directory, { recursive: true, force: true });
}
