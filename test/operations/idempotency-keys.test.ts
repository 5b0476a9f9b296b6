// Idempotency-Key on createTask and completeTask (draft-ietf-httpapi-idempotency-key-header): the
// same key, user and request replays the first response; a different request is 422; a retry while
// the first is in flight is 409; keys are per user, expire after 24 hours, and live in PostgreSQL.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { newUser, sharedApi } from '../support/api.ts';
import {
  bearer,
  createTaskAs,
  expectContractViolation,
  expectCreated,
  expectProblem,
  expectTaskNotFound,
  listAllTasksAs,
  readTaskAs,
  unknownTaskId,
} from '../support/tasks.ts';
import { testDatabaseUrl, withSqlClient } from '../support/database.ts';
import { etagOf, inTestDatabase } from '../support/versions.ts';

const reusedErrors = [{ path: '/headers/idempotency-key', keyword: 'reused' }] as const;

describe('createTask with Idempotency-Key', () => {
  it('creates the task once and replays the same 201, body, Location and ETag to a retry', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const key = `"${randomUUID()}"`;

    const first = await api.http.post('/api/tasks').set(bearer(user)).set('Idempotency-Key', key).send({ title: 'Once' });
    const retry = await api.http.post('/api/tasks').set(bearer(user)).set('Idempotency-Key', key).send({ title: 'Once' });

    const task = expectCreated(first, '/api/tasks', { user_id: user.id, title: 'Once', description: null, status: 'pending' });
    expectCreated(retry, '/api/tasks', { ...task });
    expect(retry.body).to.deep.equal(first.body);
    expect(retry.text, 'the replayed body, byte for byte').to.equal(first.text);
    expect(retry.headers.location).to.equal(first.headers.location);
    expect(etagOf(retry)).to.equal(etagOf(first));
    expect(await listAllTasksAs(api, user)).to.deep.equal([task]);
  });

  it('treats the body as the same request whatever the order of its keys', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const key = randomUUID();

    const first = await api.http.post('/api/tasks').set(bearer(user)).set('Idempotency-Key', key).send({ title: 'Ordered', description: 'd' });
    const retry = await api.http
      .post('/api/tasks')
      .set(bearer(user))
      .set('Idempotency-Key', key)
      .set('content-type', 'application/json')
      .send('{"description":"d","title":"Ordered"}');

    expect(retry.status).to.equal(201);
    expect(retry.body).to.deep.equal(first.body);
    expect(await listAllTasksAs(api, user)).to.have.length(1);
  });

  it('replays the original response even after the task has changed since', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const key = randomUUID();
    const first = await api.http.post('/api/tasks').set(bearer(user)).set('Idempotency-Key', key).send({ title: 'Then' });
    await api.http.patch(`/api/tasks/${first.body.id}`).set(bearer(user)).send({ title: 'Now' });

    const retry = await api.http.post('/api/tasks').set(bearer(user)).set('Idempotency-Key', key).send({ title: 'Then' });

    expect(retry.status).to.equal(201);
    expect(retry.body).to.deep.equal(first.body);
    expect(etagOf(retry)).to.equal(etagOf(first));
    expect((await readTaskAs(api, user, first.body.id)).title).to.equal('Now');
  });

  it('returns 422 and creates nothing when the key was used with a different body', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const key = randomUUID();
    const first = await api.http.post('/api/tasks').set(bearer(user)).set('Idempotency-Key', key).send({ title: 'Original' });

    const response = await api.http.post('/api/tasks').set(bearer(user)).set('Idempotency-Key', key).send({ title: 'Different' });

    expectProblem(response, { type: 'idempotency-key-reused', instance: '/api/tasks', errors: reusedErrors });
    expect(await listAllTasksAs(api, user)).to.deep.equal([first.body]);
  });

  it('returns 422 when the key was used on another path (the user-scoped route)', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const key = randomUUID();
    await api.http.post('/api/tasks').set(bearer(user)).set('Idempotency-Key', key).send({ title: 'Same' });

    const response = await api.http.post(`/api/${user.id}/tasks`).set(bearer(user)).set('Idempotency-Key', key).send({ title: 'Same' });

    expectProblem(response, { type: 'idempotency-key-reused', instance: `/api/${user.id}/tasks`, errors: reusedErrors });
    expect(await listAllTasksAs(api, user)).to.have.length(1);
  });

  it('keeps keys per user: another user sending the same key and body gets their own task', async () => {
    const api = await sharedApi();
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const key = randomUUID();

    const alices = await api.http.post('/api/tasks').set(bearer(alice)).set('Idempotency-Key', key).send({ title: 'Shared key' });
    const bobs = await api.http.post('/api/tasks').set(bearer(bob)).set('Idempotency-Key', key).send({ title: 'Shared key' });
    const bobsDifferent = await api.http.post('/api/tasks').set(bearer(bob)).set('Idempotency-Key', key).send({ title: 'Shared key' });

    expectCreated(bobs, '/api/tasks', { user_id: bob.id, title: 'Shared key', description: null, status: 'pending' });
    expect(bobs.body.id).to.not.equal(alices.body.id);
    expect(bobsDifferent.body).to.deep.equal(bobs.body);
    expect(await listAllTasksAs(api, alice)).to.deep.equal([alices.body]);
    expect(await listAllTasksAs(api, bob)).to.deep.equal([bobs.body]);
  });

  it('returns 409 while a request with the same key is still in flight, and processes the retry once the key is free', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const key = randomUUID();
    // Another "instance" holding the key: the same transaction-scoped lock a request takes.
    await withSqlClient(testDatabaseUrl(), async (client) => {
      await client.query('begin');
      await client.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`idempotency-key\n${user.id}\n${key}`]);

      const during = await api.http.post('/api/tasks').set(bearer(user)).set('Idempotency-Key', key).send({ title: 'Busy' });

      expectProblem(during, { type: 'idempotency-key-in-flight', instance: '/api/tasks' });
      await client.query('rollback');
    });
    const after = await api.http.post('/api/tasks').set(bearer(user)).set('Idempotency-Key', key).send({ title: 'Busy' });

    expect(after.status, after.text).to.equal(201);
    expect(await listAllTasksAs(api, user)).to.deep.equal([after.body]);
  });

  it('creates exactly one task from many truly concurrent identical requests; the rest replay it or get 409', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const key = randomUUID();

    const responses = await Promise.all(
      Array.from({ length: 12 }, () =>
        api.http.post('/api/tasks').set(bearer(user)).set('Idempotency-Key', key).send({ title: 'Race' }).then((response) => response),
      ),
    );

    const tasks = await listAllTasksAs(api, user);
    expect(tasks).to.have.length(1);
    for (const response of responses) {
      if (response.status === 201) expect(response.body).to.deep.equal(tasks[0]);
      else expectProblem(response, { type: 'idempotency-key-in-flight', instance: '/api/tasks' });
    }
    expect(responses.filter((response) => response.status === 201).length).to.be.at.least(1);
  });

  it('forgets a key after 24 hours: the expired key is purged and the request is processed afresh', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const key = randomUUID();
    const first = await api.http.post('/api/tasks').set(bearer(user)).set('Idempotency-Key', key).send({ title: 'Old' });
    await inTestDatabase(`update idempotency_keys set expires_at = now() - interval '1 second' where owner_user_id = $1`, [user.id]);
    const stale = await inTestDatabase('select key from idempotency_keys where owner_user_id = $1', [user.id]);

    const again = await api.http.post('/api/tasks').set(bearer(user)).set('Idempotency-Key', key).send({ title: 'Old' });

    expect(stale).to.have.length(1);
    expect(again.status).to.equal(201);
    expect(again.body.id).to.not.equal(first.body.id);
    const rows = await inTestDatabase(
      `select key, expires_at > now() + interval '23 hours' as fresh from idempotency_keys where owner_user_id = $1`,
      [user.id],
    );
    expect(rows).to.deep.equal([{ key, fresh: true }]);
  });

  it('stores nothing for the key when the request is refused', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const key = randomUUID();

    const refused = await api.http.post('/api/tasks').set(bearer(user)).set('Idempotency-Key', key).send({ title: 'x', completed: true, status: 'pending' });
    const rows = await inTestDatabase('select key from idempotency_keys where owner_user_id = $1', [user.id]);

    expect(refused.status).to.equal(422);
    expect(rows).to.deep.equal([]);
  });

  for (const [label, key] of [
    ['is longer than 255 characters', 'k'.repeat(256)],
    ['contains a space', 'two words'],
    ['contains a non-ASCII character', 'clé'],
    ['is an empty string', '""'],
  ] as const) {
    it(`returns 422 and creates nothing when the key ${label}`, async () => {
      const api = await sharedApi();
      const user = await newUser();

      const response = await api.http.post('/api/tasks').set(bearer(user)).set('Idempotency-Key', key).send({ title: 'Bad key' });

      expectContractViolation(response, '/api/tasks', [{ path: '/headers/idempotency-key', keyword: 'invalid_format' }]);
      expect(await listAllTasksAs(api, user)).to.deep.equal([]);
    });
  }
});

describe('completeTask with Idempotency-Key', () => {
  it('toggles once: a retried toggle replays the first answer instead of toggling back', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createTaskAs(api, user);
    const key = randomUUID();

    const first = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).set('Idempotency-Key', key);
    const retry = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).set('Idempotency-Key', key);

    expect(first.status).to.equal(200);
    expect(first.body.status).to.equal('completed');
    expect(retry.status).to.equal(200);
    expect(retry.body).to.deep.equal(first.body);
    expect(etagOf(retry)).to.equal(etagOf(first));
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(first.body);
  });

  it('returns 422 when the key was used to complete another task', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const one = await createTaskAs(api, user);
    const other = await createTaskAs(api, user);
    const key = randomUUID();
    await api.http.patch(`/api/tasks/${one.id}/complete`).set(bearer(user)).set('Idempotency-Key', key);

    const response = await api.http.patch(`/api/tasks/${other.id}/complete`).set(bearer(user)).set('Idempotency-Key', key);

    expectProblem(response, { type: 'idempotency-key-reused', instance: `/api/tasks/${other.id}/complete`, errors: reusedErrors });
    expect(await readTaskAs(api, user, other.id)).to.deep.equal(other);
  });

  it('returns 422 when the key was used on the same task with another body ({"completed": true}, then false)', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createTaskAs(api, user);
    const key = randomUUID();
    const first = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).set('Idempotency-Key', key).send({ completed: true });
    expect(first.status).to.equal(200);

    const response = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).set('Idempotency-Key', key).send({ completed: false });

    expectProblem(response, { type: 'idempotency-key-reused', instance: `/api/tasks/${task.id}/complete`, errors: reusedErrors });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(first.body);
  });

  it("returns 404 for another user's task and stores nothing for the key", async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const stranger = await newUser('stranger');
    const task = await createTaskAs(api, owner);
    const key = randomUUID();

    const response = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(stranger)).set('Idempotency-Key', key);
    const missing = unknownTaskId();
    const missingResponse = await api.http.patch(`/api/tasks/${missing}/complete`).set(bearer(stranger)).set('Idempotency-Key', key);

    expectTaskNotFound(response, `/api/tasks/${task.id}/complete`);
    expectTaskNotFound(missingResponse, `/api/tasks/${missing}/complete`);
    expect(await inTestDatabase('select key from idempotency_keys where owner_user_id = $1', [stranger.id])).to.deep.equal([]);
    expect(await readTaskAs(api, owner, task.id)).to.deep.equal(task);
  });

  it('returns 409 while a completion with the same key is in flight', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createTaskAs(api, user);
    const key = randomUUID();
    await withSqlClient(testDatabaseUrl(), async (client) => {
      await client.query('begin');
      await client.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`idempotency-key\n${user.id}\n${key}`]);

      const during = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).set('Idempotency-Key', key);

      expectProblem(during, { type: 'idempotency-key-in-flight', instance: `/api/tasks/${task.id}/complete` });
      await client.query('rollback');
    });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
  });

  it('returns 422 for a malformed key', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createTaskAs(api, user);

    const response = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).set('Idempotency-Key', 'a"b');

    expectContractViolation(response, `/api/tasks/${task.id}/complete`, [{ path: '/headers/idempotency-key', keyword: 'invalid_format' }]);
  });
});
