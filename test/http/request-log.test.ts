// Request ids and the per-request log line, read from the app's own logger (the same options as the
// server's, writing into memory): one line per request with the fields operators filter on, the
// request id that the response and its problem body carry, and never a credential.
import net from 'node:net';
import { expect } from 'chai';
import { capturedLog, newUser, startTestApi, type CapturedLog, type TestApi, type TestUser } from '../support/api.ts';
import { createMigratedDatabase, withSqlClient } from '../support/database.ts';
import { expectProblem, requestIdOf, uuidPattern } from '../support/tasks.ts';

type LogLine = Record<string, unknown>;

/** Waits (bounded) until the line for `requestId` has been written: it is written once the response is finished. */
async function linesFor(captured: CapturedLog, requestId: string, timeoutMs = 5_000): Promise<LogLine[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const lines = captured.lines().filter((line) => line.request_id === requestId);
    if (lines.length > 0 || performance.now() > deadline) {
      // Let a (wrong) second line for the same request arrive before the caller counts them.
      await new Promise((resolve) => setTimeout(resolve, 50));
      return captured.lines().filter((line) => line.request_id === requestId);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const requestLineKeys = ['duration_ms', 'level', 'method', 'msg', 'operation', 'path', 'request_id', 'service', 'status', 'time'];

/** Asserts the one line of a request, with every property it has. */
function expectRequestLine(lines: LogLine[], expected: { method: string; operation: string; path: string; status: number; user_id?: string }) {
  expect(lines, JSON.stringify(lines)).to.have.length(1);
  const [line] = lines as [LogLine];
  const keys = expected.user_id === undefined ? requestLineKeys : [...requestLineKeys, 'user_id'].sort();
  expect(Object.keys(line).sort()).to.deep.equal(keys);
  expect(line).to.include({ level: 30, msg: 'request completed', service: 'tasks-api', ...expected });
  expect(line.duration_ms).to.be.a('number').within(0, 10_000);
}

describe('request ids', () => {
  let api: TestApi;
  let user: TestUser;
  before(async () => {
    api = await startTestApi();
    user = await newUser();
  });
  after(async () => api?.close());

  it('keeps a sane X-Request-Id and echoes it in the response header and the problem body', async () => {
    for (const sane of ['req-1', 'f0e1d2c3-b4a5-4697-8899-aabbccddeeff', 'trace.abc:123/x+y=z@lb_1', 'x'.repeat(128)]) {
      const response = await api.http.get('/api/tasks/not-a-uuid').set('Authorization', user.authorization).set('X-Request-Id', sane);
      expect(response.headers['x-request-id']).to.equal(sane);
      expectProblem(response, {
        type: 'validation-failed',
        instance: '/api/tasks/not-a-uuid',
        errors: [{ path: '/params/task_id', keyword: 'invalid_format' }],
      });
      expect(response.body.request_id).to.equal(sane);
    }
  });

  it('replaces an X-Request-Id that is too long or has unsafe characters with a new UUID', async () => {
    for (const insane of ['x'.repeat(129), 'has space', '"quoted"', '<script>', 'a,b', 'semi;colon']) {
      const response = await api.http.get('/health').set('X-Request-Id', insane);
      expect(response.status).to.equal(200);
      expect(response.headers['x-request-id'], insane).to.match(uuidPattern);
    }
  });

  it('generates a different UUID for every request that sends none, also on success', async () => {
    const ids = new Set<string>();
    for (let index = 0; index < 5; index += 1) {
      const response = await api.http.get('/api/tasks').set('Authorization', user.authorization);
      expect(response.status).to.equal(200);
      ids.add(requestIdOf(response));
    }
    expect(ids.size).to.equal(5);
    for (const id of ids) expect(id).to.match(uuidPattern);
  });
});

describe('the request log', () => {
  let api: TestApi;
  let captured: CapturedLog;
  let user: TestUser;
  before(async () => {
    captured = capturedLog('info');
    api = await startTestApi({ log: captured.log });
    user = await newUser();
  });
  after(async () => api?.close());

  it('writes exactly one line per request with its id, method, operation, path, status, duration and user id', async () => {
    const created = await api.http.post('/api/tasks').set('Authorization', user.authorization).set('X-Request-Id', 'log-create').send({ title: 'Log me' });
    expect(created.status).to.equal(201);
    expectRequestLine(await linesFor(captured, 'log-create'), {
      method: 'POST',
      operation: 'createTask',
      path: '/api/tasks',
      status: 201,
      user_id: user.id,
    });

    const scoped = await api.http.get(`/api/${user.id}/tasks/${created.body.id}`).set('Authorization', user.authorization).set('X-Request-Id', 'log-get');
    expect(scoped.status).to.equal(200);
    expectRequestLine(await linesFor(captured, 'log-get'), {
      method: 'GET',
      operation: 'getUserTask',
      path: `/api/${user.id}/tasks/${created.body.id}`,
      status: 200,
      user_id: user.id,
    });

    const anonymous = await api.http.get('/api/tasks').set('X-Request-Id', 'log-anonymous');
    expect(anonymous.status).to.equal(401);
    expectRequestLine(await linesFor(captured, 'log-anonymous'), { method: 'GET', operation: 'listTasks', path: '/api/tasks', status: 401 });

    // Unknown paths share one operation value, so arbitrary paths cannot create new label values.
    const unknown = await api.http.get('/no/such/path').query({ secret: 'query-string-value' }).set('X-Request-Id', 'log-unknown');
    expect(unknown.status).to.equal(404);
    expectRequestLine(await linesFor(captured, 'log-unknown'), { method: 'GET', operation: 'unmatched', path: '/no/such/path', status: 404 });
    expect(captured.text()).not.to.include('query-string-value');

    const health = await api.http.get('/health').set('X-Request-Id', 'log-health');
    expect(health.status).to.equal(200);
    expectRequestLine(await linesFor(captured, 'log-health'), { method: 'GET', operation: 'health', path: '/health', status: 200 });
  });

  it('writes one "request aborted" line with status 499 when the client goes away before the response', async () => {
    const { port } = new URL(api.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    // A body that never arrives in full: the server waits for it, then the client hangs up.
    socket.write(
      'POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: log-aborted\r\n' +
        `Authorization: ${user.authorization}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title"`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    const lines = await linesFor(captured, 'log-aborted');
    expect(lines, JSON.stringify(lines)).to.have.length(1);
    expect(lines[0]).to.include({ msg: 'request aborted', aborted: true, status: 499, method: 'POST', path: '/api/tasks', operation: 'unmatched' });
  });

  it('never writes the token, the Authorization header or a cookie, whatever the outcome', async () => {
    const forged = `${user.token.slice(0, -4)}AAAA`;
    const requests = [
      api.http.get('/api/tasks').set('Authorization', user.authorization).set('Cookie', 'session=cookie-secret-value'),
      api.http.post('/api/tasks').set('Authorization', user.authorization).send({ title: 'x', extra: true }),
      api.http.get('/api/tasks').set('Authorization', `Bearer ${forged}`),
      api.http.get('/nowhere').set('Authorization', user.authorization),
    ];
    const statuses = [];
    for (const request of requests) statuses.push((await request).status);
    expect(statuses).to.deep.equal([200, 422, 401, 404]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const text = captured.text();
    expect(text).to.include(user.id);
    for (const secret of [user.token, forged, user.token.split('.')[2]!, 'cookie-secret-value', 'Bearer ', 'authorization']) {
      expect(text, secret).not.to.include(secret);
    }
  });
});

describe('the log level (LOG_LEVEL)', () => {
  it('drops the request lines below the configured level', async () => {
    const captured = capturedLog('warn');
    const api = await startTestApi({ log: captured.log });
    try {
      const user = await newUser();
      expect((await api.http.get('/health')).status).to.equal(200);
      expect((await api.http.get('/api/tasks').set('Authorization', user.authorization)).status).to.equal(200);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(captured.text()).to.equal('');
    } finally {
      await api.close();
    }
  });
});

describe('the log of an unexpected error', () => {
  let api: TestApi;
  let captured: CapturedLog;
  before(async () => {
    // A real failure: the schema under the API no longer has the column it queries.
    const databaseUrl = await createMigratedDatabase('broken_log');
    await withSqlClient(databaseUrl, (client) => client.query('alter table tasks rename column title to name'));
    captured = capturedLog('info');
    api = await startTestApi({ databaseUrl, log: captured.log });
  });
  after(async () => api?.close());

  it('has the stack and the request id once, and the 500 body carries the same request id', async () => {
    const user = await newUser();
    const response = await api.http.post('/api/tasks').set('Authorization', user.authorization).send({ title: 'Boom' });
    expectProblem(response, { type: 'internal-error', instance: '/api/tasks' });
    const requestId = requestIdOf(response);
    expect(requestId).to.match(uuidPattern);
    const lines = await linesFor(captured, requestId);
    const errors = lines.filter((line) => line.msg === 'unexpected error');
    expect(errors, JSON.stringify(lines)).to.have.length(1);
    const error = errors[0]!;
    expect(error.level).to.equal(50);
    expect((error.err as { stack?: string }).stack).to.be.a('string').and.match(/\n\s+at /);
    expect(lines.filter((line) => line.msg === 'request completed')).to.have.length(1);
    expect(lines.find((line) => line.msg === 'request completed')).to.include({ status: 500, operation: 'createTask', user_id: user.id });
    expect(lines.filter((line) => line !== error).every((line) => line.err === undefined)).to.equal(true);
  });
});
