// GET /metrics: Prometheus text for operators, only for a request that presents METRICS_TOKEN, and
// absent altogether when no token is configured.
import { expect } from 'chai';
import type { Response } from 'supertest';
import { newUser, sharedApi, startTestApi, type TestApi, type TestUser } from '../support/api.ts';
import { testDatabaseUrl, withSqlClient } from '../support/database.ts';
import { expectProblem } from '../support/tasks.ts';

const metricsToken = 'metrics-token-for-tests-0123456789';
const prometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';

/** The value of one sample line (`name{labels} value`), or 0 when the series does not exist yet. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  let api: TestApi;
  let user: TestUser;
  before(async () => {
    api = await startTestApi({ metricsToken });
    user = await newUser();
  });
  after(async () => api?.close());

  const scrape = async (): Promise<Response> => {
    const response = await api.http.get('/metrics').set('Authorization', `Bearer ${metricsToken}`);
    expect(response.status, response.text).to.equal(200);
    expect(response.headers['content-type']).to.equal(prometheusContentType);
    return response;
  };

  it('answers Prometheus text with request, pool and process metrics to a request with the token', async () => {
    const { text } = await scrape();
    for (const declaration of [
      '# TYPE tasks_api_http_request_duration_seconds histogram',
      '# TYPE tasks_api_http_requests_in_flight gauge',
      '# TYPE tasks_api_db_pool_connections gauge',
      '# TYPE tasks_api_db_pool_waiting_requests gauge',
      '# TYPE process_cpu_seconds_total counter',
      '# TYPE process_resident_memory_bytes gauge',
      '# TYPE nodejs_eventloop_lag_seconds gauge',
      '# TYPE nodejs_heap_size_used_bytes gauge',
    ]) {
      expect(text).to.include(declaration);
    }
    // The scrape itself is the request in flight.
    expect(sample(text, 'tasks_api_http_requests_in_flight')).to.equal(1);
    for (const state of ['in_use', 'idle', 'pending']) {
      expect(sample(text, `tasks_api_db_pool_connections{state="${state}"}`), state).to.be.within(0, 5);
    }
    expect(text).to.match(/^tasks_api_db_pool_connections\{state="idle"\} \d+$/m);
    expect(sample(text, 'tasks_api_db_pool_waiting_requests')).to.equal(0);
  });

  it('counts each request under its operationId and status, and every unknown path under one label', async () => {
    const created = '{operation="createTask",status="201"}';
    const unauthorized = '{operation="listTasks",status="401"}';
    const unmatched = '{operation="unmatched",status="404"}';
    const before = (await scrape()).text;
    for (let index = 0; index < 3; index += 1) {
      expect((await api.http.post('/api/tasks').set('Authorization', user.authorization).send({ title: `t${index}` })).status).to.equal(201);
    }
    expect((await api.http.get('/api/tasks')).status).to.equal(401);
    expect((await api.http.get('/no/such/path/a')).status).to.equal(404);
    expect((await api.http.get('/no/such/path/b')).status).to.equal(404);
    const after = (await scrape()).text;

    expect(sample(after, `tasks_api_http_request_duration_seconds_count${created}`) - sample(before, `tasks_api_http_request_duration_seconds_count${created}`)).to.equal(3);
    expect(sample(after, `tasks_api_http_request_duration_seconds_count${unauthorized}`) - sample(before, `tasks_api_http_request_duration_seconds_count${unauthorized}`)).to.equal(1);
    expect(sample(after, `tasks_api_http_request_duration_seconds_count${unmatched}`) - sample(before, `tasks_api_http_request_duration_seconds_count${unmatched}`)).to.equal(2);
    // The +Inf bucket holds every observation; the sum grew by the durations.
    expect(sample(after, 'tasks_api_http_request_duration_seconds_bucket{le="+Inf",operation="createTask",status="201"}')).to.equal(
      sample(after, `tasks_api_http_request_duration_seconds_count${created}`),
    );
    expect(sample(after, `tasks_api_http_request_duration_seconds_sum${created}`)).to.be.above(sample(before, `tasks_api_http_request_duration_seconds_sum${created}`));
    // No path ever becomes a label value.
    expect(after).not.to.include('/no/such/path');
    expect(sample(after, 'tasks_api_http_requests_in_flight')).to.equal(1);
  });

  it('reports the scheduler lag: how long the oldest due reminder has waited to fire', async () => {
    const response = await api.http
      .post('/api/tasks')
      .set('Authorization', user.authorization)
      .send({ title: 'Lagging', reminders: [{ remind_at: new Date(Date.now() + 3_600_000).toISOString() }] });
    const reminderId = response.body.reminders[0].id as string;
    // No worker runs in this process: make the reminder due 90 s ago, as if every worker were down.
    await withSqlClient(testDatabaseUrl(), (client) =>
      client.query(`update task_reminders set fire_at = now() - interval '90 seconds' where id = $1`, [reminderId]),
    );
    try {
      const { text } = await scrape();
      expect(text).to.include('# TYPE tasks_api_scheduler_lag_seconds gauge');
      expect(text).to.include('# TYPE tasks_api_deliveries_total counter');
      expect(text).to.include('# TYPE tasks_api_reminders_fired_total counter');
      expect(sample(text, 'tasks_api_scheduler_lag_seconds')).to.be.within(90, 600);
    } finally {
      await withSqlClient(testDatabaseUrl(), (client) => client.query('update task_reminders set pending = false where id = $1', [reminderId]));
    }
  });

  it('refuses a request without the token, or with another one, with 401 and a Bearer challenge', async () => {
    const cases = [
      api.http.get('/metrics'),
      api.http.get('/metrics').set('Authorization', 'Bearer wrong-token'),
      api.http.get('/metrics').set('Authorization', `Bearer ${metricsToken}x`),
      api.http.get('/metrics').set('Authorization', `Bearer ${metricsToken.slice(0, -1)}`),
      api.http.get('/metrics').set('Authorization', user.authorization),
      api.http.get('/metrics').set('Authorization', `Basic ${Buffer.from(`x:${metricsToken}`).toString('base64')}`),
    ];
    for (const request of cases) {
      const response = await request;
      expectProblem(response, { type: 'metrics-token-required', instance: '/metrics' });
      expect(response.headers['www-authenticate']).to.equal('Bearer realm="tasks-api-metrics"');
      expect(response.text).not.to.include('tasks_api_');
    }
  });

  it('does not exist (404) when no METRICS_TOKEN is configured, with or without a token', async () => {
    const unconfigured = await sharedApi();
    for (const authorization of [undefined, `Bearer ${metricsToken}`]) {
      const request = unconfigured.http.get('/metrics');
      const response = await (authorization ? request.set('Authorization', authorization) : request);
      expectProblem(response, { type: 'path-not-found', instance: '/metrics' });
    }
  });
});
