// What express-openapi-validator's route lookup costs per request as the contract grows: the
// contract as it is, then padded with documented paths up to BENCH_PATHS (default 40, what the
// contract holds once lists, recurrence and reminders are in), each behind the validator exactly
// as src/app.ts mounts it (request validation and bearer security on; the security handler accepts
// every request, so only routing and validation are measured). Requests are the standard mix's
// routes (a first page, a get, a complete) and a first page with six filters, one connection at a
// time, in this process; the figure is this process's CPU per request, client included (the same
// client for every contract size, so the differences are the server's), the least of BENCH_ROUNDS
// rounds (a busy machine only ever adds). Beside it, counted rather than timed so that it holds on
// a busy machine: how many path-to-regexp matchers the validator compiles per request (and what
// one compile costs), and the contract-only work it repeats per request without the second patch
// (patches/*+002+*): parameter derivations (dereferenceParameter), url.parse calls on the request's
// URL, and route-map reads (routePair, one per route tried); and the time spent inside the two
// steps that patch changes, the route lookup and modifyRequest (wall time of synchronous code, so a
// busy machine adds to it too). To compare, reverse that patch in node_modules (patch -R -p1 <
// patches/…002….patch), run, and apply it again (patch -p1 < …).
// Usage: node bench/route-lookup.ts   (BENCH_REQUESTS=3000, BENCH_PATHS=40, BENCH_ROUNDS=5)
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import url from 'node:url';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import { Pool } from 'undici';
import YAML from 'yaml';
import { contractPath } from '../src/contract.ts';
import { callsSince, countCalls } from '../test/support/calls.ts';

const requests = Number(process.env.BENCH_REQUESTS ?? 3000);
const paddedTo = Number(process.env.BENCH_PATHS ?? 40);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);

// The path-to-regexp the validator calls, and its contract-only work per request (it reads each of
// these at every call, so counting the export or prototype method counts its calls).
const pathToRegexpModule = createRequire(createRequire(import.meta.url).resolve('express-openapi-validator'))('path-to-regexp') as {
  pathToRegexp: (path: string, options?: object) => unknown;
};
// The uncounted original, for timing one compile on its own.
const compile = pathToRegexpModule.pathToRegexp;
const validatorModule = (name: string) => createRequire(import.meta.url)(`express-openapi-validator/dist/${name}`) as Record<string, unknown>;
const contextPrototype = (validatorModule('framework/openapi.context') as { OpenApiContext: { prototype: object } }).OpenApiContext.prototype;
const counters = {
  compiles: countCalls(pathToRegexpModule, 'pathToRegexp'),
  derivations: countCalls(validatorModule('middlewares/parsers/util'), 'dereferenceParameter'),
  urlParses: countCalls(url, 'parse', ([target]) => typeof target === 'string' && target.startsWith('/api/')),
  routePairs: countCalls(contextPrototype, 'routePair'),
};
// Nanoseconds inside the route lookup (the metadata middleware, until it calls next or throws) and modifyRequest.
const inside = { lookup: 0n, modifyRequest: 0n };
type Middleware = (request: unknown, response: unknown, next: (...args: unknown[]) => void) => void;
const metadataModule = validatorModule('middlewares/openapi.metadata') as { applyOpenApiMetadata: (...args: unknown[]) => Middleware };
const applyOpenApiMetadata = metadataModule.applyOpenApiMetadata;
metadataModule.applyOpenApiMetadata = (...args) => {
  const middleware = applyOpenApiMetadata(...args);
  return (request, response, next) => {
    const start = process.hrtime.bigint();
    let timed = false;
    const stop = () => {
      if (!timed) inside.lookup += process.hrtime.bigint() - start;
      timed = true;
    };
    try {
      middleware(request, response, (...nextArgs) => {
        stop();
        next(...nextArgs);
      });
    } finally {
      stop();
    }
  };
};
const mutatorPrototype = (validatorModule('middlewares/parsers/req.parameter.mutator') as { RequestParameterMutator: { prototype: { modifyRequest: (request: unknown) => void } } })
  .RequestParameterMutator.prototype;
const modifyRequest = mutatorPrototype.modifyRequest;
mutatorPrototype.modifyRequest = function (request) {
  const start = process.hrtime.bigint();
  try {
    modifyRequest.call(this, request);
  } finally {
    inside.modifyRequest += process.hrtime.bigint() - start;
  }
};

type Contract = { paths: Record<string, unknown> };

/**
 * The contract with made-up resources added until it documents `total` paths. Their names sort
 * before `tasks`, as lists, recurrence and reminders do: the validator scans its routes in sorted
 * order (static before dynamic, then by name), so they are scanned before every task route.
 */
function padded(contract: Contract, total: number): Contract {
  const paths = { ...contract.paths };
  const responses = { '200': { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } } };
  for (let resource = 1; Object.keys(paths).length < total; resource += 1) {
    paths[`/api/resources-${resource}`] = { get: { operationId: `listResources${resource}`, responses } };
    if (Object.keys(paths).length < total) {
      paths[`/api/resources-${resource}/{resource_id}`] = {
        parameters: [{ name: 'resource_id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        get: { operationId: `getResource${resource}`, responses },
      };
    }
  }
  return { ...contract, paths };
}

type Measured = { cpuMicros: number; compilesPerRequest: number; perRequest: { derivations: number; urlParses: number; routePairs: number }; lookupMicros: number; modifyRequestMicros: number };

async function measure(specFile: string): Promise<Measured> {
  const app = express();
  app.use(express.json());
  app.use(
    OpenApiValidator.middleware({
      apiSpec: specFile,
      validateRequests: { allErrors: true },
      validateResponses: false,
      validateSecurity: { handlers: { bearerAuth: async () => true } },
      ignoreUndocumented: false,
    }),
  );
  app.use((_request, response) => {
    response.json({});
  });
  app.use((error: { status?: number; message: string }, _request: express.Request, response: express.Response, _next: express.NextFunction) => {
    response.status(error.status ?? 500).json({ error: error.message });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const client = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 1 });
  const id = randomUUID();
  const targets = [
    { method: 'GET', path: '/api/tasks' },
    { method: 'GET', path: `/api/tasks/${id}` },
    { method: 'PATCH', path: `/api/tasks/${id}/complete` },
    { method: 'GET', path: '/api/tasks?status=pending&priority=high&tag=work&completed=false&sort=-created_at&limit=5' },
  ] as const;
  const send = async (index: number) => {
    const target = targets[index % targets.length]!;
    const response = await client.request({ ...target, headers: { authorization: 'Bearer x' } });
    await response.body.dump();
    if (response.statusCode !== 200) throw new Error(`${target.method} ${target.path} answered ${response.statusCode}`);
  };
  for (let index = 0; index < 500; index += 1) await send(index); // warm-up: JIT, Ajv compiles
  const before = callsSince(counters);
  const insideBefore = { ...inside };
  const start = process.cpuUsage();
  for (let index = 0; index < requests; index += 1) await send(index);
  const used = process.cpuUsage(start);
  const { compiles, derivations, urlParses, routePairs } = callsSince(counters, before);
  const compilesPerRequest = compiles / requests;
  const perRequest = { derivations: derivations / requests, urlParses: urlParses / requests, routePairs: routePairs / requests };
  const lookupMicros = Number(inside.lookup - insideBefore.lookup) / 1000 / requests;
  const modifyRequestMicros = Number(inside.modifyRequest - insideBefore.modifyRequest) / 1000 / requests;
  await client.close();
  server.close();
  return { cpuMicros: (used.user + used.system) / requests, compilesPerRequest, perRequest, lookupMicros, modifyRequestMicros };
}

/** Microseconds per path-to-regexp compile of these routes (Express syntax), the least of `rounds`. */
function microsPerCompile(routes: readonly string[]): number {
  let best = Infinity;
  for (let round = 0; round < rounds; round += 1) {
    const start = process.hrtime.bigint();
    for (let index = 0; index < 20_000; index += 1) compile(routes[index % routes.length]!, { sensitive: false, strict: false });
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1000 / 20_000);
  }
  return best;
}

const directory = await mkdtemp(path.join(os.tmpdir(), 'route-lookup-'));
try {
  const contract = YAML.parse(await readFile(contractPath, 'utf8')) as Contract;
  const sizes = [Object.keys(contract.paths).length, paddedTo];
  const best = new Map<number, Measured>();
  for (let round = 0; round < rounds; round += 1) {
    for (const size of sizes) {
      const file = path.join(directory, `contract-${size}.yaml`);
      await writeFile(file, YAML.stringify(padded(contract, size)));
      const measured = await measure(file);
      // Each time figure the least of the rounds, on its own (the counts are the same every round).
      const earlier = best.get(size) ?? measured;
      best.set(size, {
        ...measured,
        cpuMicros: Math.min(earlier.cpuMicros, measured.cpuMicros),
        lookupMicros: Math.min(earlier.lookupMicros, measured.lookupMicros),
        modifyRequestMicros: Math.min(earlier.modifyRequestMicros, measured.modifyRequestMicros),
      });
    }
  }
  const compileMicros = microsPerCompile(Object.keys(padded(contract, paddedTo).paths).map((route) => route.replace(/\{(\w+)\}/g, ':$1')));
  console.log(`one path-to-regexp compile: ${compileMicros.toFixed(2)} µs`);
  for (const [size, measured] of best) {
    console.log(
      `${size} documented paths: ${measured.cpuMicros.toFixed(1)} µs CPU per request (least of ${rounds} rounds of ${requests}), ` +
        `${measured.compilesPerRequest.toFixed(2)} route compiles per request (≈ ${(measured.compilesPerRequest * compileMicros).toFixed(1)} µs); ` +
        `per request, ${measured.perRequest.derivations.toFixed(2)} parameter derivations, ${measured.perRequest.urlParses.toFixed(2)} url.parse, ` +
        `${measured.perRequest.routePairs.toFixed(2)} route-map reads; inside the route lookup ${measured.lookupMicros.toFixed(1)} µs, ` +
        `inside modifyRequest ${measured.modifyRequestMicros.toFixed(1)} µs`,
    );
  }
} finally {
  await rm(directory, { recursive: true, force: true });
}
