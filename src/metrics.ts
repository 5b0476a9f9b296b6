// Prometheus metrics (prom-client) for operators: request durations by operation and status,
// requests in flight, the database pool, and Node's process metrics. `GET /metrics` exists only
// when METRICS_TOKEN is set, and answers only a request that presents that token; it is not part of
// the API contract (it is for Prometheus, not for frontends, and has its own credential).
//
// Cost on the request path: a gauge increment and decrement and one histogram observation. The
// pool is read only when Prometheus scrapes (a collect callback), never per request.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Request, RequestHandler, Response } from 'express';
import type { DatabasePool } from './database/pool.ts';
import { bearerTokenOf } from './auth.ts';
import { selectPendingDeliveryCount } from './database/deliveries.ts';
import { selectReminderLagSeconds } from './database/task-reminders.ts';
import { deliveryCounts, remindersFiredCount } from './delivery-metrics.ts';
import { ProblemError } from './problems.ts';
import type { RequestObserver } from './request-log.ts';

export type Metrics = {
  readonly observer: RequestObserver;
  readonly handler: RequestHandler;
};

export function createMetrics(options: { readonly token: string; readonly pool: DatabasePool }): Metrics {
  // Loaded only when metrics are on: prom-client takes 50–200 ms to import on a busy machine, which
  // every start (and every start-up failure) would pay otherwise.
  const { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } = createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
  // A registry per app (not prom-client's global one), so two apps in one process never share counts.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const duration = new Histogram({
    name: 'tasks_api_http_request_duration_seconds',
    help: 'Time from receiving a request to finishing its response, by operationId (or preflight, metrics, unmatched) and status.',
    labelNames: ['operation', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'tasks_api_http_requests_in_flight',
    help: 'Requests received whose response has not finished yet.',
    registers: [registry],
  });

  const poolState = () => options.pool.state();
  new Gauge({
    name: 'tasks_api_db_pool_connections',
    help: 'Database connections in the pool, by state (in_use: acquired by a query; idle: ready; pending: being opened or closed).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const state = poolState();
      this.set({ state: 'in_use' }, state.acquiredConnections + state.pendingReleaseConnections);
      this.set({ state: 'idle' }, state.idleConnections);
      this.set({ state: 'pending' }, state.pendingConnections + state.pendingDestroyConnections);
    },
  });
  new Gauge({
    name: 'tasks_api_db_pool_waiting_requests',
    help: 'Queries waiting for a pooled connection because every connection is in use.',
    registers: [registry],
    collect() {
      this.set(poolState().waitingClients);
    },
  });

  // Reminders and deliveries. The counters are this process's (the worker's); lag and outbox depth
  // are read from the database at scrape time, so any instance reports them, whichever delivers.
  new Counter({
    name: 'tasks_api_deliveries_total',
    help: 'Delivery attempts made by this process, by channel (push, webhook) and outcome (delivered, retry, failed, gone, refused).',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { channel, outcome, count } of deliveryCounts()) this.inc({ channel, outcome }, count);
    },
  });
  new Counter({
    name: 'tasks_api_reminders_fired_total',
    help: 'Reminder occurrences fired by this process.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(remindersFiredCount());
    },
  });
  new Gauge({
    name: 'tasks_api_scheduler_lag_seconds',
    help: 'Now minus the fire time of the oldest due reminder that has not fired yet (0 when none is waiting).',
    registers: [registry],
    async collect() {
      // A database that does not answer must not fail the whole scrape: the gauge keeps its last value.
      const lag = await selectReminderLagSeconds(options.pool).catch(() => undefined);
      if (lag !== undefined) this.set(lag);
    },
  });

  new Gauge({
    name: 'tasks_api_outbox_depth',
    help: 'Deliveries (push messages, webhook events) written and not yet delivered or given up.',
    registers: [registry],
    async collect() {
      const depth = await selectPendingDeliveryCount(options.pool).catch(() => undefined);
      if (depth !== undefined) this.set(depth);
    },
  });

  const expected = digest(options.token);

  return {
    observer: {
      started: () => inFlight.inc(),
      finished: (operation, status, seconds) => {
        inFlight.dec();
        duration.observe({ operation, status: String(status) }, seconds);
      },
    },
    handler: async (request: Request, response: Response) => {
      (response.locals as { operation?: string }).operation = 'metrics';
      // Digests of equal length, compared in constant time: the comparison says nothing about how
      // much of a guessed token was right.
      const presented = digest(bearerTokenOf(request.headers.authorization) ?? '');
      if (!timingSafeEqual(presented, expected)) {
        throw new ProblemError('metrics-token-required', 'Send the metrics token: Authorization: Bearer <METRICS_TOKEN>.', {
          headers: { 'WWW-Authenticate': 'Bearer realm="tasks-api-metrics"' },
        });
      }
      response.setHeader('Cache-Control', 'no-store');
      response.type(registry.contentType).send(await registry.metrics());
    },
  };
}

const digest = (value: string) => createHash('sha256').update(value).digest();
