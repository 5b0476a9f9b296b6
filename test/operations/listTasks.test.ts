import { expect } from 'chai';
import type { Response } from 'supertest';
import type { Task } from '../../src/contract.ts';
import { newUser, sharedApi } from '../support/api.ts';
import {
  bearer,
  createTaskAs,
  createTasksInOrder,
  expectContractViolation,
  expectTask,
  jsonContentType,
  listAllTasksAs,
  nextLinkOf,
  pause,
} from '../support/tasks.ts';

const newestFirst = (tasks: readonly Task[]) => [...tasks].reverse();

describe('listTasks', () => {
  it('returns an empty array and no Link header when the caller has no tasks', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.get('/api/tasks').set(bearer(user));

    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.equal(jsonContentType);
    expect(response.headers.link).to.equal(undefined);
    expect(response.body).to.deep.equal([]);
  });

  it('returns every task of the caller, whole, newest first', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const first = await createTaskAs(api, user, { title: 'First', description: 'Oldest', status: 'completed' });
    await pause();
    const second = await createTaskAs(api, user, { title: 'Second', status: 'in_progress' });
    await pause();
    const third = await createTaskAs(api, user, { title: 'Third' });

    const response = await api.http.get('/api/tasks').set(bearer(user));

    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.equal(jsonContentType);
    expect(response.headers.link).to.equal(undefined);
    expect(response.body).to.deep.equal([third, second, first]);
    expectTask(response.body[0], { id: third.id, user_id: user.id, title: 'Third', description: null, status: 'pending' });
    expectTask(response.body[1], { id: second.id, user_id: user.id, title: 'Second', description: null, status: 'in_progress' });
    expectTask(response.body[2], { id: first.id, user_id: user.id, title: 'First', description: 'Oldest', status: 'completed' });
  });

  it('orders by creation, not by the last change, and shows each task as it is now', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const [older, newer] = await createTasksInOrder(api, user, 2);
    await pause();
    const changed = await api.http.patch(`/api/tasks/${older!.id}`).set(bearer(user)).send({ title: 'Renamed' });
    expect(changed.status).to.equal(200);

    const response = await api.http.get('/api/tasks').set(bearer(user));

    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.equal(jsonContentType);
    expect(response.headers.link).to.equal(undefined);
    expect(response.body).to.deep.equal([newer, changed.body]);
    expectTask(response.body[1], { ...older!, title: 'Renamed', updated_at: changed.body.updated_at });
  });

  it('pages with limit and offset, with exact next and prev links, when the client sends offset', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const tasks = newestFirst(await createTasksInOrder(api, user, 5));

    const first = await api.http.get('/api/tasks?limit=2&offset=0').set(bearer(user));
    expect(first.status).to.equal(200);
    expect(first.headers['content-type']).to.equal(jsonContentType);
    expect(first.body).to.deep.equal(tasks.slice(0, 2));
    expect(first.headers.link).to.equal('</api/tasks?limit=2&offset=2>; rel="next"');

    const middle = await api.http.get('/api/tasks?limit=2&offset=2').set(bearer(user));
    expect(middle.status).to.equal(200);
    expect(middle.body).to.deep.equal(tasks.slice(2, 4));
    expect(middle.headers.link).to.equal(
      '</api/tasks?limit=2&offset=4>; rel="next", </api/tasks?limit=2&offset=0>; rel="prev"',
    );

    const last = await api.http.get('/api/tasks?limit=2&offset=4').set(bearer(user));
    expect(last.status).to.equal(200);
    expect(last.body).to.deep.equal(tasks.slice(4));
    expect(last.headers.link).to.equal('</api/tasks?limit=2&offset=2>; rel="prev"');
  });

  it('reaches every task exactly once by following the next links', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const tasks = newestFirst(await createTasksInOrder(api, user, 5));

    const seen: Task[] = [];
    let next: string | undefined = '/api/tasks?limit=3';
    for (let pages = 0; next !== undefined; pages += 1) {
      expect(pages, 'too many pages').to.be.below(3);
      const response: Response = await api.http.get(next).set(bearer(user));
      expect(response.status).to.equal(200);
      seen.push(...(response.body as Task[]));
      next = /<([^>]+)>; rel="next"/.exec(response.headers.link ?? '')?.[1];
    }

    expect(seen).to.deep.equal(tasks);
  });

  it('has no next link when the page ends exactly at the last task', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const tasks = newestFirst(await createTasksInOrder(api, user, 4));

    const response = await api.http.get('/api/tasks?limit=2&offset=2').set(bearer(user));

    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.equal(jsonContentType);
    expect(response.body).to.deep.equal(tasks.slice(2));
    expect(response.headers.link).to.equal('</api/tasks?limit=2&offset=0>; rel="prev"');
  });

  it('has no Link header when one page holds every task', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const tasks = newestFirst(await createTasksInOrder(api, user, 3));

    const response = await api.http.get('/api/tasks?limit=3').set(bearer(user));

    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal(tasks);
    expect(response.headers.link).to.equal(undefined);
  });

  it('returns an empty array with only a prev link for an offset past the last task', async () => {
    const api = await sharedApi();
    const user = await newUser();
    await createTasksInOrder(api, user, 2);

    const response = await api.http.get('/api/tasks?offset=10').set(bearer(user));

    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.equal(jsonContentType);
    expect(response.body).to.deep.equal([]);
    expect(response.headers.link).to.equal('</api/tasks?limit=50&offset=0>; rel="prev"');
  });

  it('returns 50 tasks by default, and the rest on the page its cursor link names', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const created = await Promise.all(Array.from({ length: 51 }, (_, index) => createTaskAs(api, user, { title: `Task ${index}` })));
    // Created concurrently, several can share a millisecond: the list breaks such ties by id.
    const expected = created.sort((a, b) =>
      a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1,
    );

    const first = await api.http.get('/api/tasks').set(bearer(user));
    expect(first.status).to.equal(200);
    expect(first.headers['content-type']).to.equal(jsonContentType);
    expect(first.body).to.have.length(50);
    expect(first.body).to.deep.equal(expected.slice(0, 50));
    expect(first.headers.link).to.match(/^<\/api\/tasks\?limit=50&cursor=[A-Za-z0-9_-]+>; rel="next"$/);

    const second = await api.http.get(nextLinkOf(first)!).set(bearer(user));
    expect(second.status).to.equal(200);
    expect(second.body).to.deep.equal(expected.slice(50));
    expect(second.headers.link).to.equal(undefined);

    const byOffset = await api.http.get('/api/tasks?offset=50').set(bearer(user));
    expect(byOffset.status).to.equal(200);
    expect(byOffset.body).to.deep.equal(expected.slice(50));
    expect(byOffset.headers.link).to.equal('</api/tasks?limit=50&offset=0>; rel="prev"');
  });

  it('accepts the limits 1 and 200', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const tasks = newestFirst(await createTasksInOrder(api, user, 2));

    const one = await api.http.get('/api/tasks?limit=1&offset=0').set(bearer(user));
    expect(one.status).to.equal(200);
    expect(one.body).to.deep.equal(tasks.slice(0, 1));
    expect(one.headers.link).to.equal('</api/tasks?limit=1&offset=1>; rel="next"');

    const most = await api.http.get('/api/tasks?limit=200').set(bearer(user));
    expect(most.status).to.equal(200);
    expect(most.body).to.deep.equal(tasks);
    expect(most.headers.link).to.equal(undefined);
  });

  it("never returns another user's tasks, on any page", async () => {
    const api = await sharedApi();
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const aliceTasks = newestFirst(await createTasksInOrder(api, alice, 3));
    const bobTasks = newestFirst(await createTasksInOrder(api, bob, 2));

    expect(await listAllTasksAs(api, alice)).to.deep.equal(aliceTasks);
    expect(await listAllTasksAs(api, bob)).to.deep.equal(bobTasks);
    for (const offset of [0, 1, 2, 3, 5]) {
      const page = await api.http.get(`/api/tasks?limit=1&offset=${offset}`).set(bearer(bob));
      expect(page.status).to.equal(200);
      expect(page.body).to.deep.equal(bobTasks.slice(offset, offset + 1));
    }
  });

  const invalidQueries = [
    { query: 'limit=0', errors: [{ path: '/query/limit', keyword: 'too_small' }] },
    { query: 'limit=201', errors: [{ path: '/query/limit', keyword: 'too_large' }] },
    { query: 'limit=abc', errors: [{ path: '/query/limit', keyword: 'wrong_type' }] },
    { query: 'limit=1.5', errors: [{ path: '/query/limit', keyword: 'wrong_type' }] },
    { query: 'offset=-1', errors: [{ path: '/query/offset', keyword: 'too_small' }] },
    { query: 'offset=1000001', errors: [{ path: '/query/offset', keyword: 'too_large' }] },
    { query: 'page=2', errors: [{ path: '/query/page', keyword: 'not_allowed' }] },
  ] as const;
  for (const { query, errors } of invalidQueries) {
    it(`returns 422 naming the parameter for ?${query}`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      await createTaskAs(api, user);

      const response = await api.http.get(`/api/tasks?${query}`).set(bearer(user));

      expectContractViolation(response, '/api/tasks', errors);
    });
  }
});
