// Two real API processes started at the same moment against one empty PostgreSQL database, as N
// instances behind a load balancer are: the migrations are applied once (the advisory lock makes
// the second instance wait, then find nothing to do), both serve, and what one instance wrote the
// other reads, changes and deletes, with every user still seeing only their own tasks; a version
// (ETag) made stale on one is refused on the other, and an Idempotency-Key replays across them.
import { readdir } from 'node:fs/promises';
import { expect } from 'chai';
import { startApiProcess, withoutDetail, withoutRequestId, type ApiProcess } from '../support/api-process.ts';
import { newUser, testSecret, type TestUser } from '../support/api.ts';
import { createEmptyDatabase, withSqlClient } from '../support/database.ts';
import { stopAll } from '../support/server-process.ts';
import { migrationsDirectory } from '../../src/database/migrations.ts';

type Task = { readonly id: string; readonly [field: string]: unknown };

const call = async (api: ApiProcess, user: TestUser, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: user.authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  const parsed = text === '' ? undefined : withoutRequestId(JSON.parse(text));
  const isProblem = response.headers.get('content-type')?.startsWith('application/problem+json');
  return { status: response.status, headers: response.headers, body: isProblem ? withoutDetail(parsed) : parsed };
};

describe('two API processes on one database', () => {
  let databaseUrl: string;
  let a: ApiProcess;
  let b: ApiProcess;
  let migrationFiles: string[];

  before(async function () {
    this.timeout(90_000);
    migrationFiles = (await readdir(migrationsDirectory)).filter((name) => /^\d{4}_.*\.sql$/.test(name)).sort();
    databaseUrl = await createEmptyDatabase('instances');
    // Started together, against a database with no tables yet: both race for the migrations.
    [a, b] = await Promise.all([
      startApiProcess({ DATABASE_URL: databaseUrl, BETTER_AUTH_SECRET: testSecret }),
      startApiProcess({ DATABASE_URL: databaseUrl, BETTER_AUTH_SECRET: testSecret }),
    ]);
  });

  after(async function () {
    this.timeout(30_000);
    await stopAll();
  });

  it('applies each migration once when both start at the same moment, and both come up ready', async () => {
    const applied = (api: ApiProcess) => api.run.logs.filter((line) => line.msg === 'applied migration').map((line) => line.migration);
    // One instance applied them all while holding the lock; the other then found nothing to do.
    expect([applied(a), applied(b)].sort((x, y) => x.length - y.length)).to.deep.equal([[], migrationFiles]);
    const recorded = await withSqlClient(databaseUrl, (client) => client.query<{ name: string }>('select name from schema_migrations order by version'));
    expect(recorded.rows.map((row) => row.name)).to.deep.equal(migrationFiles);
    for (const api of [a, b]) expect((await fetch(`${api.url}/ready`, { signal: AbortSignal.timeout(10_000) })).status).to.equal(200);
  });

  it('lets a task created on one instance be read, updated, completed and deleted through the other', async () => {
    const alice = await newUser('alice');
    const created = await call(a, alice, 'POST', '/api/tasks', { title: 'Written on A', description: 'read on B' });
    expect(created.status).to.equal(201);
    const task = created.body as Task;

    const readOnB = await call(b, alice, 'GET', `/api/tasks/${task.id}`);
    expect(readOnB).to.deep.include({ status: 200, body: task });

    const updatedOnB = await call(b, alice, 'PATCH', `/api/tasks/${task.id}`, { title: 'Changed on B' });
    expect(updatedOnB.status).to.equal(200);
    expect(updatedOnB.body).to.deep.include({ ...task, title: 'Changed on B', updated_at: (updatedOnB.body as Task).updated_at });
    const completedOnA = await call(a, alice, 'PATCH', `/api/tasks/${task.id}/complete`);
    expect(completedOnA.status).to.equal(200);
    expect(completedOnA.body).to.deep.include({ id: task.id, title: 'Changed on B', completed: true, status: 'completed' });
    expect(await call(b, alice, 'GET', `/api/tasks/${task.id}`)).to.deep.include({ status: 200, body: completedOnA.body });
    const listedOnB = await call(b, alice, 'GET', '/api/tasks');
    expect(listedOnB).to.deep.include({ status: 200, body: [completedOnA.body] });

    expect((await call(b, alice, 'DELETE', `/api/tasks/${task.id}`)).status).to.equal(204);
    const goneOnA = await call(a, alice, 'GET', `/api/tasks/${task.id}`);
    expect(goneOnA.status).to.equal(404);
    expect(goneOnA.body).to.deep.equal({ type: '/problems/task-not-found', title: 'Task not found', status: 404, instance: `/api/tasks/${task.id}` });
  });

  it("keeps one user's task invisible and untouchable to another user on the other instance", async () => {
    const alice = await newUser('alice');
    const mallory = await newUser('mallory');
    const created = await call(a, alice, 'POST', '/api/tasks', { title: "Alice's, on A" });
    const task = created.body as Task;
    const notFound = { type: '/problems/task-not-found', title: 'Task not found', status: 404, instance: `/api/tasks/${task.id}` };

    expect(await call(b, mallory, 'GET', `/api/tasks/${task.id}`)).to.deep.include({ status: 404, body: notFound });
    expect(await call(b, mallory, 'PATCH', `/api/tasks/${task.id}`, { title: 'Taken' })).to.deep.include({ status: 404, body: notFound });
    expect(await call(b, mallory, 'PATCH', `/api/tasks/${task.id}/complete`)).to.deep.include({
      status: 404,
      body: { ...notFound, instance: `/api/tasks/${task.id}/complete` },
    });
    expect(await call(b, mallory, 'DELETE', `/api/tasks/${task.id}`)).to.deep.include({ status: 404, body: notFound });
    expect(await call(b, mallory, 'GET', '/api/tasks')).to.deep.include({ status: 200, body: [] });
    const forbidden = await call(b, mallory, 'GET', `/api/${encodeURIComponent(alice.id)}/tasks`);
    expect(forbidden.status).to.equal(403);

    expect(await call(b, alice, 'GET', `/api/tasks/${task.id}`)).to.deep.include({ status: 200, body: task });
  });

  it('keeps every write when both instances take writes for the same user at once', async () => {
    const alice = await newUser('alice');
    const writes = Array.from({ length: 40 }, (_, index) => call(index % 2 === 0 ? a : b, alice, 'POST', '/api/tasks', { title: `parallel ${index}` }));
    const results = await Promise.all(writes);

    expect(results.map((result) => result.status)).to.deep.equal(Array(40).fill(201));
    const listed = await call(a, alice, 'GET', '/api/tasks?limit=100');
    expect((listed.body as Task[]).map((task) => task.title).sort()).to.deep.equal(
      Array.from({ length: 40 }, (_, index) => `parallel ${index}`).sort(),
    );
  });

  it('refuses with 412 on one instance a write whose If-Match another instance has made stale, and writes nothing', async () => {
    const alice = await newUser('alice');
    const created = await call(a, alice, 'POST', '/api/tasks', { title: 'Versioned' });
    const task = created.body as Task;
    const firstTag = created.headers.get('etag')!;
    const path = `/api/tasks/${task.id}`;

    const onA = await call(a, alice, 'PATCH', path, { title: 'A wrote first' }, { 'if-match': firstTag });
    expect(onA.status).to.equal(200);
    const staleOnB = await call(b, alice, 'PATCH', path, { title: 'B holds the old version' }, { 'if-match': firstTag });

    expect(staleOnB.status).to.equal(412);
    expect(staleOnB.body).to.include({ status: 412, instance: path });
    const read = await call(b, alice, 'GET', path);
    expect(read).to.deep.include({ status: 200, body: onA.body });
    expect(read.headers.get('etag')).to.equal(onA.headers.get('etag'));
  });

  it('replays on one instance the response to an Idempotency-Key first used on the other, without a second write', async () => {
    const alice = await newUser('alice');
    const key = `key-${Date.now()}`;
    const first = await call(a, alice, 'POST', '/api/tasks', { title: 'Exactly once' }, { 'idempotency-key': key });
    const retry = await call(b, alice, 'POST', '/api/tasks', { title: 'Exactly once' }, { 'idempotency-key': key });

    expect(first.status).to.equal(201);
    expect(retry).to.deep.include({ status: 201, body: first.body });
    expect(retry.headers.get('location')).to.equal(first.headers.get('location'));
    expect(retry.headers.get('etag')).to.equal(first.headers.get('etag'));
    const listed = await call(a, alice, 'GET', '/api/tasks');
    expect(listed).to.deep.include({ status: 200, body: [first.body] });
  });
});
