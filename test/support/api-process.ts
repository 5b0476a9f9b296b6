// The real API process (`node src/server.ts`) for the resilience tests: start it with settings,
// wait for its "listening" line, and a bounded load of writes to run against it while a test
// signals it or takes its database away.
import { chmod, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cleanEnvironment, runNode, type RunningProcess } from './server-process.ts';

const listening = /^tasks-api listening on http:\/\/localhost:(\d+)$/;

export type ApiProcess = { readonly run: RunningProcess; readonly url: string };

/** A data directory PostgreSQL (running as `postgres` under root) can enter. */
export async function newDataDirectory(label: string): Promise<string> {
  const directory = await mkdtemp(path.join(os.tmpdir(), `tasks-api-${label}-`));
  await chmod(directory, 0o755);
  return directory;
}

export async function startApiProcess(settings: Readonly<Record<string, string>>): Promise<ApiProcess> {
  const run = runNode(
    'src/server.ts',
    [],
    // Rate limits off: these tests load one user from one address on purpose (test/http/limits.test.ts has the limits).
    cleanEnvironment({ NODE_ENV: 'development', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', RATE_LIMIT_PER_USER: '0', RATE_LIMIT_PER_IP: '0', ...settings }),
  );
  const line = await run.waitForLog((entry) => listening.test(entry.msg ?? ''), 30_000);
  return { run, url: `http://127.0.0.1:${listening.exec(line.msg!)![1]}` };
}

/** One request to the API process as `user` (a JSON body when given): its status and parsed JSON body. */
export async function requestApiProcess(
  api: ApiProcess,
  user: { readonly authorization: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<{ readonly status: number; readonly body: unknown }> {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: user.authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

/** What one request of a load run ended with: a whole response, or the error fetch threw. */
export type Outcome =
  | {
      readonly kind: 'response';
      readonly marker: string;
      readonly status: number;
      readonly retryAfter: string | null;
      readonly body: unknown;
      readonly at: number;
      readonly ms: number;
    }
  | { readonly kind: 'error'; readonly marker: string; readonly code: string; readonly at: number; readonly ms: number };

export type WriteLoad = {
  readonly outcomes: Outcome[];
  /** Resolves when every worker has stopped. */
  readonly finished: Promise<void>;
  readonly stop: () => void;
};

/**
 * `workers` loops, each creating tasks one after another (fetch keeps their connections alive),
 * every task titled with a unique marker so the database can be checked against the answers.
 * Bounded: a worker stops after `maxPerWorker` requests, after `maxMs`, when `stopWhen` says so,
 * or when `stop()` is called.
 */
export function startWriteLoad(options: {
  readonly url: string;
  readonly authorization: string;
  readonly label: string;
  readonly workers: number;
  readonly maxPerWorker: number;
  readonly maxMs: number;
  readonly timeoutMs: number;
  readonly pauseMs?: number;
  readonly stopWhen?: (outcome: Outcome) => boolean;
}): WriteLoad {
  const outcomes: Outcome[] = [];
  const startedAt = performance.now();
  let stopped = false;
  const worker = async (index: number) => {
    for (let sequence = 0; sequence < options.maxPerWorker && !stopped && performance.now() - startedAt < options.maxMs; sequence += 1) {
      const marker = `${options.label}-${index}-${sequence}`;
      const sentAt = performance.now();
      let outcome: Outcome;
      try {
        const response = await fetch(`${options.url}/api/tasks`, {
          method: 'POST',
          headers: { authorization: options.authorization, 'content-type': 'application/json' },
          body: JSON.stringify({ title: marker }),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        const body = withoutRequestId(await response.json());
        const at = performance.now();
        outcome = { kind: 'response', marker, status: response.status, retryAfter: response.headers.get('retry-after'), body, at, ms: at - sentAt };
      } catch (error) {
        const at = performance.now();
        outcome = { kind: 'error', marker, code: errorCode(error), at, ms: at - sentAt };
      }
      outcomes.push(outcome);
      if (options.stopWhen?.(outcome)) break;
      if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  };
  const finished = Promise.all(Array.from({ length: options.workers }, (_, index) => worker(index))).then(() => {});
  return { outcomes, finished, stop: () => void (stopped = true) };
}

/** fetch wraps network failures in `TypeError('fetch failed', { cause })`; the cause has the code. */
export function errorCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if ((current as { name?: unknown }).name === 'TimeoutError') return 'TIMEOUT';
    current = (current as { cause?: unknown }).cause;
  }
  return String(error);
}

/** Problem bodies carry a generated request_id; checked to be there, then left out of comparisons. */
/**
 * A problem body without its `detail`, once that is checked to be a non-empty string: the words
 * are for people, the `type` is what a test (and a client) tells problems apart by.
 */
export function withoutDetail(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const { detail, ...rest } = body as { detail: unknown };
  if (typeof detail !== 'string' || detail === '') throw new Error(`detail is not a non-empty string: ${JSON.stringify(body)}`);
  return rest;
}

export function withoutRequestId(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || !('request_id' in body)) return body;
  const { request_id: requestId, ...rest } = body as { request_id: unknown };
  if (typeof requestId !== 'string' || requestId === '') throw new Error(`request_id is not a non-empty string: ${JSON.stringify(body)}`);
  return rest;
}
