// The seven task operations again, under `/api/{user_id}/tasks` (the original hackathon paths):
// they behave as their canonical twins when `{user_id}` is the caller, answer 403 for anyone
// else's id (whether or not that user has the task), and keep Location and Link on these paths.
import { expect } from 'chai';
import type { Response } from 'supertest';
import { newUser, sharedApi, type TestApi, type TestUser } from '../support/api.ts';
import {
  bearer,
  createTaskAs,
  createTasksInOrder,
  expectContractViolation,
  expectCreated,
  expectProblem,
  expectTaskNotFound,
  expectTaskResponse,
  jsonContentType,
  listAllTasksAs,
  pause,
  readTaskAs,
  unknownTaskId,
  withoutInstance,
} from '../support/tasks.ts';

const tasksOf = (user: TestUser) => `/api/${user.id}/tasks`;

function expectForbidden(response: Response, instance: string): void {
  expectProblem(response, { type: 'user-path-mismatch', instance });
  expect(response.headers['www-authenticate']).to.equal(undefined);
}

/**
 * The two ways a stranger can aim at an owner's task on these paths, for a write operation: under
 * the owner's id (403) and under their own id (404, as for a missing task). Either way the task is
 * untouched when its owner reads it back.
 */
function itKeepsOtherUsersTasksOutOfReach(
  method: 'put' | 'patch' | 'delete',
  suffix: '' | '/complete',
  body: Record<string, unknown> | undefined,
  untouched: string,
): void {
  const attempt = (api: TestApi, pathUser: TestUser, stranger: TestUser, taskId: string) => {
    const request = api.http[method](`${tasksOf(pathUser)}/${taskId}${suffix}`).set(bearer(stranger));
    return body === undefined ? request : request.send(body);
  };

  it(`returns 403 for another user's id, even for a task that user has, and ${untouched}`, async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const stranger = await newUser('stranger');
    const task = await createTaskAs(api, owner);

    const response = await attempt(api, owner, stranger, task.id);

    expectForbidden(response, `${tasksOf(owner)}/${task.id}${suffix}`);
    expect(await readTaskAs(api, owner, task.id)).to.deep.equal(task);
  });

  it(`returns 404 for another user's task under the caller's own id, and ${untouched}`, async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const stranger = await newUser('stranger');
    const task = await createTaskAs(api, owner);

    const response = await attempt(api, stranger, stranger, task.id);

    expectTaskNotFound(response, `${tasksOf(stranger)}/${task.id}${suffix}`);
    expect(await readTaskAs(api, owner, task.id)).to.deep.equal(task);
  });
}

describe('listUserTasks', () => {
  it("returns the caller's tasks newest first, with Link URLs on the user-scoped path", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const tasks = (await createTasksInOrder(api, user, 3)).reverse();

    const first = await api.http.get(`${tasksOf(user)}?limit=2&offset=0`).set(bearer(user));
    expect(first.status).to.equal(200);
    expect(first.headers['content-type']).to.equal(jsonContentType);
    expect(first.body).to.deep.equal(tasks.slice(0, 2));
    expect(first.headers.link).to.equal(`<${tasksOf(user)}?limit=2&offset=2>; rel="next"`);

    const byCursor = await api.http.get(`${tasksOf(user)}?limit=2`).set(bearer(user));
    expect(byCursor.status).to.equal(200);
    expect(byCursor.body).to.deep.equal(tasks.slice(0, 2));
    const next = /^<([^>]+)>; rel="next"$/.exec(byCursor.headers.link ?? '')?.[1];
    expect(next).to.match(new RegExp(`^${tasksOf(user)}\\?limit=2&cursor=[A-Za-z0-9_-]+$`));
    const byCursorNext = await api.http.get(next!).set(bearer(user));
    expect(byCursorNext.status).to.equal(200);
    expect(byCursorNext.body).to.deep.equal(tasks.slice(2));
    expect(byCursorNext.headers.link).to.equal(undefined);

    const second = await api.http.get(`${tasksOf(user)}?limit=2&offset=2`).set(bearer(user));
    expect(second.status).to.equal(200);
    expect(second.body).to.deep.equal(tasks.slice(2));
    expect(second.headers.link).to.equal(`<${tasksOf(user)}?limit=2&offset=0>; rel="prev"`);

    const all = await api.http.get(tasksOf(user)).set(bearer(user));
    expect(all.status).to.equal(200);
    expect(all.body).to.deep.equal(tasks);
    expect(all.headers.link).to.equal(undefined);
  });

  it("returns 403 for another user's id, even though that user has tasks", async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const stranger = await newUser('stranger');
    await createTaskAs(api, owner);

    const response = await api.http.get(`${tasksOf(owner)}?limit=200`).set(bearer(stranger));

    expectForbidden(response, tasksOf(owner));
  });

  it('returns 422 for an out-of-range limit', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.get(`${tasksOf(user)}?limit=0`).set(bearer(user));

    expectContractViolation(response, tasksOf(user), [{ path: '/query/limit', keyword: 'too_small' }]);
  });
});

describe('createUserTask', () => {
  it('creates a task owned by the caller, with a Location on the user-scoped path', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.post(tasksOf(user)).set(bearer(user)).send({ title: 'Legacy', description: 'Old frontend' });

    const task = expectCreated(response, tasksOf(user), {
      user_id: user.id,
      title: 'Legacy',
      description: 'Old frontend',
      status: 'pending',
      completed_at: null,
    });
    expect(task.updated_at).to.equal(task.created_at);
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
    const viaLocation = await api.http.get(response.headers.location!).set(bearer(user));
    expect(viaLocation.status).to.equal(200);
    expect(viaLocation.body).to.deep.equal(task);
  });

  it('accepts priority, tags and due_at, normalising the tags as the canonical route does', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http
      .post(tasksOf(user))
      .set(bearer(user))
      .send({ title: 'Legacy', priority: 'low', tags: [' Home', 'home', 'Car '], due_at: '2026-12-24T18:00:00+02:00' });

    const task = expectCreated(response, tasksOf(user), {
      user_id: user.id,
      title: 'Legacy',
      description: null,
      status: 'pending',
      priority: 'low',
      tags: ['Home', 'Car'],
      due_at: '2026-12-24T16:00:00.000Z',
    });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
  });

  it("returns 403 for another user's id and creates nothing for either user", async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const stranger = await newUser('stranger');

    const response = await api.http.post(tasksOf(owner)).set(bearer(stranger)).send({ title: 'Planted' });

    expectForbidden(response, tasksOf(owner));
    expect(await listAllTasksAs(api, owner)).to.deep.equal([]);
    expect(await listAllTasksAs(api, stranger)).to.deep.equal([]);
  });

  it("returns 403 for another user's id before looking at the body", async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const stranger = await newUser('stranger');

    const response = await api.http.post(tasksOf(owner)).set(bearer(stranger)).send({ title: '   ', extra: true });

    expectForbidden(response, tasksOf(owner));
  });

  it('returns 422 with field errors for an invalid body', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.post(tasksOf(user)).set(bearer(user)).send({ title: 't'.repeat(501) });

    expectContractViolation(response, tasksOf(user), [{ path: '/body/title', keyword: 'too_long' }]);
    expect(await listAllTasksAs(api, user)).to.deep.equal([]);
  });
});

describe('getUserTask', () => {
  it("returns the caller's task, whole", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createTaskAs(api, user, { title: 'Mine', status: 'in_progress' });

    const response = await api.http.get(`${tasksOf(user)}/${task.id}`).set(bearer(user));

    expectTaskResponse(response, { ...task });
    expect(response.body).to.deep.equal(task);
  });

  it("returns 403 for another user's id, even for a task that user has", async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const stranger = await newUser('stranger');
    const task = await createTaskAs(api, owner);

    const response = await api.http.get(`${tasksOf(owner)}/${task.id}`).set(bearer(stranger));

    expectForbidden(response, `${tasksOf(owner)}/${task.id}`);
  });

  it("returns 404 for another user's task under the caller's own id, as for a missing task", async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const stranger = await newUser('stranger');
    const task = await createTaskAs(api, owner);
    const missingId = unknownTaskId();

    const othersTask = await api.http.get(`${tasksOf(stranger)}/${task.id}`).set(bearer(stranger));
    const missingTask = await api.http.get(`${tasksOf(stranger)}/${missingId}`).set(bearer(stranger));

    expectTaskNotFound(othersTask, `${tasksOf(stranger)}/${task.id}`);
    expectTaskNotFound(missingTask, `${tasksOf(stranger)}/${missingId}`);
    expect(withoutInstance(othersTask.body)).to.deep.equal(withoutInstance(missingTask.body));
  });
});

describe('replaceUserTask', () => {
  itKeepsOtherUsersTasksOutOfReach('put', '', { title: 'Hijacked' }, 'leaves it unchanged');

  it("replaces the caller's task", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createTaskAs(api, user, { title: 'Old', description: 'Old', completed: true });
    await pause();

    const response = await api.http.put(`${tasksOf(user)}/${task.id}`).set(bearer(user)).send({ title: 'New' });

    const replaced = expectTaskResponse(response, { ...task, title: 'New', description: null, updated_at: undefined });
    expect(replaced.updated_at > task.updated_at).to.equal(true);
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(replaced);
  });
});

describe('updateUserTask', () => {
  itKeepsOtherUsersTasksOutOfReach('patch', '', { completed: true }, 'leaves it unchanged');

  it("changes only the fields sent on the caller's task", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createTaskAs(api, user, { title: 'Keep me', description: 'Keep me too' });

    const response = await api.http.patch(`${tasksOf(user)}/${task.id}`).set(bearer(user)).send({ status: 'in_progress' });

    const updated = expectTaskResponse(response, { ...task, status: 'in_progress', updated_at: undefined });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(updated);
  });

  it('changes priority, tags and due_at on the user-scoped path, and lists by them there', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createTaskAs(api, user, { title: 'Keep me' });
    await createTaskAs(api, user, { title: 'Not this one' });

    const response = await api.http
      .patch(`${tasksOf(user)}/${task.id}`)
      .set(bearer(user))
      .send({ priority: 'high', tags: ['Urgent'], due_at: '2026-12-01T00:00:00.000Z' });

    const updated = expectTaskResponse(response, {
      ...task,
      priority: 'high',
      tags: ['Urgent'],
      due_at: '2026-12-01T00:00:00.000Z',
      updated_at: undefined,
    });
    const listed = await api.http.get(`${tasksOf(user)}?priority=high&tag=urgent&sort=due_at`).set(bearer(user));
    expect(listed.status).to.equal(200);
    expect(listed.headers['content-type']).to.equal(jsonContentType);
    expect(listed.body).to.deep.equal([updated]);
  });
});

describe('deleteUserTask', () => {
  itKeepsOtherUsersTasksOutOfReach('delete', '', undefined, 'does not delete it');

  it("deletes the caller's task with 204 and an empty body", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createTaskAs(api, user);

    const response = await api.http.delete(`${tasksOf(user)}/${task.id}`).set(bearer(user));

    expect(response.status).to.equal(204);
    expect(response.text).to.equal('');
    expect(response.headers['content-type']).to.equal(undefined);
    expectTaskNotFound(await api.http.get(`/api/tasks/${task.id}`).set(bearer(user)), `/api/tasks/${task.id}`);
  });
});

describe('completeUserTask', () => {
  itKeepsOtherUsersTasksOutOfReach('patch', '/complete', undefined, 'leaves it unchanged');

  it("toggles the caller's task with no body and sets it with a body", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createTaskAs(api, user, { title: 'Toggle me' });

    const toggled = await api.http.patch(`${tasksOf(user)}/${task.id}/complete`).set(bearer(user));
    const completed = expectTaskResponse(toggled, { ...task, status: 'completed', completed_at: undefined, updated_at: undefined });

    const set = await api.http.patch(`${tasksOf(user)}/${task.id}/complete`).set(bearer(user)).send({ completed: true });
    expectTaskResponse(set, { ...completed, updated_at: undefined });

    const reopened = await api.http.patch(`${tasksOf(user)}/${task.id}/complete`).set(bearer(user)).send({ completed: false });
    const pending = expectTaskResponse(reopened, { ...task, status: 'pending', completed_at: null, updated_at: undefined });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(pending);
  });
});
