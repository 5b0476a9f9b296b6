// The situations of README's error table that are not tied to one operation: a path or method
// the contract does not have, a body where none is read, an unexpected failure, and a database that
// goes away and comes back while the API keeps running.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Response } from 'supertest';
import { newUser, sharedApi, startTestApi, type TestApi, type TestUser } from '../support/api.ts';
import { createMigratedDatabase, testDatabaseUrl, withSqlClient } from '../support/database.ts';
import { startTcpProxy, type ProxyMode, type TcpProxy } from '../support/tcp-proxy.ts';
import { expectProblem } from '../support/tasks.ts';

const jsonContentType = 'application/json; charset=utf-8';

/** Every request in this file gives up after this long, so a hang fails the test instead of the run. */
const requestDeadline = { response: 10_000, deadline: 10_000 };

describe('a path the contract does not have', () => {
  it('answers 404 problem+json, with or without a token', async () => {
    const api = await sharedApi();
    const user = await newUser();
    for (const path of ['/', '/api', '/api/task', '/api/tasks/extra/segments/here', '/healthz']) {
      expectProblem(await api.http.get(path).set('Authorization', user.authorization), { type: 'path-not-found', instance: path });
    }
    expectProblem(await api.http.post('/no/such/thing').send({ title: 'x' }), { type: 'path-not-found', instance: '/no/such/thing' });
  });
});

describe('a method a known path does not support', () => {
  it('answers 405 with an Allow header listing the methods the path supports', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const taskPath = `/api/tasks/${randomUUID()}`;
    const cases = [
      { method: 'delete', path: '/api/tasks', allow: 'POST, GET' },
      { method: 'put', path: '/api/tasks', allow: 'POST, GET' },
      { method: 'post', path: taskPath, allow: 'GET, PUT, PATCH, DELETE' },
      { method: 'get', path: `${taskPath}/complete`, allow: 'PATCH' },
      { method: 'post', path: '/health', allow: 'GET' },
      { method: 'delete', path: '/ready', allow: 'GET' },
    ] as const;
    for (const { method, path, allow } of cases) {
      const response = await api.http[method](path).set('Authorization', user.authorization);
      expectProblem(response, { type: 'method-not-allowed', instance: path });
      // The order of the methods is not part of the contract; the set is.
      expect(String(response.headers.allow).split(', ').sort(), `${method} ${path}`).to.deep.equal(allow.split(', ').sort());
    }
  });
});

describe('a GET request that carries a body', () => {
  it('does not parse the body, so broken JSON is not a 400', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const response = await api.http
      .get('/api/tasks')
      .set('Authorization', user.authorization)
      .set('Content-Type', 'application/json')
      .send('{"title": broken');
    expect(response.status, response.text).to.equal(200);
    expect(response.headers['content-type']).to.equal(jsonContentType);
    expect(response.body).to.deep.equal([]);
  });
});

describe('an unexpected failure', () => {
  let api: TestApi;
  let user: TestUser;

  before(async () => {
    // A real failure, not a mock: the schema under the API no longer has the column it queries.
    const databaseUrl = await createMigratedDatabase('broken');
    await withSqlClient(databaseUrl, (client) => client.query('alter table tasks rename column title to name'));
    api = await startTestApi({ databaseUrl });
    user = await newUser();
  });

  after(async () => {
    await api?.close();
  });

  // What the driver and PostgreSQL would say about this failure: none of it may reach the client.
  const internals = [/insert/i, /select/i, /column/i, /does not exist/i, /42703/, /owner_user_id/, /\bname\b/, /\.ts\b/, /\bat\s/, /\w+Error\b/];

  it('answers createTask with a generic 500 that reveals nothing internal', async () => {
    const response = await api.http.post('/api/tasks').set('Authorization', user.authorization).send({ title: 'Buy milk' });
    expectProblem(response, { type: 'internal-error', instance: '/api/tasks' });
    for (const internal of internals) expect(response.text).not.to.match(internal);
  });

  it('answers listTasks with a generic 500 that reveals nothing internal', async () => {
    const response = await api.http.get(`/api/${user.id}/tasks`).set('Authorization', user.authorization);
    expectProblem(response, { type: 'internal-error', instance: `/api/${user.id}/tasks` });
    for (const internal of internals) expect(response.text).not.to.match(internal);
  });
});

describe('a database that becomes unreachable', () => {
  /** A refused connection is noticed at once; nothing should take anywhere near this long. */
  const refusedWithinMs = 2_000;
  /** A silent database is given up on after 5 s (3 s to open a connection); 1 s of slack. */
  const silentWithinMs = 6_000;

  let proxy: TcpProxy;
  let api: TestApi;
  let user: TestUser;
  let taskId: string;

  const createTask = async (title: string) => {
    const created = await api.http.post('/api/tasks').set('Authorization', user.authorization).send({ title }).timeout(requestDeadline);
    expect(created.status, created.text).to.equal(201);
    return created.body.id as string;
  };

  before(async () => {
    const databaseUrl = testDatabaseUrl();
    proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(databaseUrl).port) });
    api = await startTestApi({ databaseUrl: proxy.urlFor(databaseUrl) });
    user = await newUser();
    taskId = await createTask('Survives outages');
  });

  afterEach(() => proxy.setMode('forward'));

  after(async () => {
    await api?.close();
    await proxy?.close();
  });

  /** Every task operation once, on the canonical routes, for a task that exists. */
  const taskOperations = () =>
    [
      ['listTasks', () => api.http.get('/api/tasks'), '/api/tasks'],
      ['createTask', () => api.http.post('/api/tasks').send({ title: 'Lost' }), '/api/tasks'],
      ['getTask', () => api.http.get(`/api/tasks/${taskId}`), `/api/tasks/${taskId}`],
      ['replaceTask', () => api.http.put(`/api/tasks/${taskId}`).send({ title: 'Replaced' }), `/api/tasks/${taskId}`],
      ['updateTask', () => api.http.patch(`/api/tasks/${taskId}`).send({ title: 'Updated' }), `/api/tasks/${taskId}`],
      ['completeTask', () => api.http.patch(`/api/tasks/${taskId}/complete`), `/api/tasks/${taskId}/complete`],
      ['deleteTask', () => api.http.delete(`/api/tasks/${taskId}`), `/api/tasks/${taskId}`],
    ] as const;

  /** Sends one request with a user's token (the test user's by default) and measures how long the answer took. */
  async function timed(send: () => ReturnType<TestApi['http']['get']>, as = user): Promise<{ response: Response; ms: number }> {
    const startedAt = performance.now();
    const response = await send().set('Authorization', as.authorization).timeout(requestDeadline);
    return { response, ms: performance.now() - startedAt };
  }

  function expectUnavailable(response: Response, instance: string): void {
    expectProblem(response, { type: 'database-unavailable', instance });
    expect(response.headers['retry-after']).to.equal('5');
  }

  /** Leaves an open connection in the pool, so the cut also hits a connection in use, not only new ones. */
  async function cut(mode: Exclude<ProxyMode, 'forward'>): Promise<void> {
    const { response } = await timed(() => api.http.get(`/api/tasks/${taskId}`));
    expect(response.status, response.text).to.equal(200);
    proxy.setMode(mode);
  }

  /** What a load balancer does after an outage: poll /ready (bounded) until it answers 200. */
  async function waitUntilReady(on: TestApi): Promise<void> {
    let ready: Response | undefined;
    for (let attempt = 0; attempt < 20 && ready?.status !== 200; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      ready = await on.http.get('/ready').timeout(requestDeadline);
    }
    expect(ready?.status, ready?.text).to.equal(200);
    expect(ready?.body).to.deep.equal({ status: 'ok' });
  }

  it('answers every task operation 503 with Retry-After at once when connections are refused', async () => {
    await cut('refuse');
    for (const [operation, send, instance] of taskOperations()) {
      const { response, ms } = await timed(send);
      expectUnavailable(response, instance);
      expect(ms, `${operation} took ${Math.round(ms)} ms`).to.be.below(refusedWithinMs);
    }
  });

  it('answers /ready 503 and /health 200 while connections are refused', async () => {
    await cut('refuse');
    const ready = await timed(() => api.http.get('/ready'));
    expectUnavailable(ready.response, '/ready');
    expect(ready.ms).to.be.below(refusedWithinMs);
    const health = await timed(() => api.http.get('/health'));
    expect(health.response.status).to.equal(200);
    expect(health.response.headers['content-type']).to.equal(jsonContentType);
    expect(health.response.body).to.deep.equal({ status: 'ok' });
  });

  it('serves every task operation again without a restart once refused connections are accepted again', async () => {
    await cut('refuse');
    expectUnavailable((await timed(() => api.http.get('/ready'))).response, '/ready');
    proxy.setMode('forward');
    await waitUntilReady(api);
    const expected = { listTasks: 200, createTask: 201, getTask: 200, replaceTask: 200, updateTask: 200, completeTask: 200, deleteTask: 204 };
    for (const [operation, send] of taskOperations()) {
      const { response } = await timed(send);
      expect(response.status, `${operation}: ${response.text}`).to.equal(expected[operation]);
    }
    // deleteTask removed the task the other tests use: put a new one in its place.
    taskId = await createTask('Survives outages');
  });

  describe('by no longer answering at all (blackhole)', () => {
    type Timed = { readonly response: Response; readonly ms: number };
    let coldApi: TestApi;
    let writer: TestUser;
    let burst: readonly (readonly [string, string, Timed])[];
    let writes: readonly Timed[];
    let healthMeanwhile: Timed;

    // One silent period (as long as the 5 s deadline) serves every test below: they assert on what
    // it produced, and on what happens once the database answers again.
    before(async function () {
      this.timeout(15_000);
      // A fresh API has no open connection: its requests wait for connections that are never answered.
      coldApi = await startTestApi({ databaseUrl: proxy.urlFor(testDatabaseUrl()) });
      writer = await newUser('writer');
      await cut('blackhole');
      const requests = [...taskOperations(), ['ready', () => api.http.get('/ready'), '/ready'] as const];
      // At once, as a busy server would see them. On the warm API one request gets the frozen open
      // connection, four wait for new connections, and the rest queue for a free one (the test
      // pool has 5). On the cold API, five wait for new connections and five queue.
      const titles = Array.from({ length: 10 }, (_, index) => `Must not appear ${index}`);
      const [burstAnswers, writeAnswers] = await Promise.all([
        Promise.all(requests.map(([, send]) => timed(send))),
        Promise.all(titles.map((title) => timed(() => coldApi.http.post('/api/tasks').send({ title }), writer))),
        (async () => {
          healthMeanwhile = await timed(() => api.http.get('/health'));
        })(),
      ]);
      burst = requests.map(([operation, , instance], index) => [operation, instance, burstAnswers[index]!] as const);
      writes = writeAnswers;
      proxy.setMode('forward');
    });

    after(async () => {
      await coldApi?.close();
    });

    it('answers every task operation and /ready 503 within the deadline, even with more requests than connections', () => {
      for (const [operation, instance, { response, ms }] of burst) {
        expectUnavailable(response, instance);
        expect(ms, `${operation} took ${Math.round(ms)} ms`).to.be.below(silentWithinMs);
      }
      for (const { response, ms } of writes) {
        expectUnavailable(response, '/api/tasks');
        expect(ms).to.be.below(silentWithinMs);
      }
    });

    it('keeps answering /health 200 meanwhile', () => {
      expect(healthMeanwhile.response.status).to.equal(200);
      expect(healthMeanwhile.response.body).to.deep.equal({ status: 'ok' });
      expect(healthMeanwhile.ms).to.be.below(refusedWithinMs);
    });

    it('never runs a statement whose request was answered 503, once the database answers again', async () => {
      await waitUntilReady(coldApi);
      // The queued requests get their connections now; give the pool (bounded) time to hand them out.
      for (let attempt = 0; attempt < 50 && coldApi.pool.state().waitingClients > 0; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(coldApi.pool.state().waitingClients).to.equal(0);
      const list = await timed(() => coldApi.http.get('/api/tasks'), writer);
      expect(list.response.status).to.equal(200);
      expect(list.response.body).to.deep.equal([]);
    });

    it('serves every task operation again without a restart once the database answers again', async () => {
      await waitUntilReady(api);
      const expected = { listTasks: 200, createTask: 201, getTask: 200, replaceTask: 200, updateTask: 200, completeTask: 200, deleteTask: 204 };
      for (const [operation, send] of taskOperations()) {
        const { response } = await timed(send);
        expect(response.status, `${operation}: ${response.text}`).to.equal(expected[operation]);
      }
    });
  });
});
