import { expect } from 'chai';
import { newUser, sharedApi } from '../support/api.ts';
import {
  bearer,
  createTaskAs,
  expectContractViolation,
  expectTaskNotFound,
  expectTaskResponse,
  readTaskAs,
  unknownTaskId,
  withoutInstance,
} from '../support/tasks.ts';

describe('getTask', () => {
  it("returns the caller's task, whole", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const created = await createTaskAs(api, user, { title: 'Read me', description: 'All of me', status: 'in_progress' });

    const response = await api.http.get(`/api/tasks/${created.id}`).set(bearer(user));

    expectTaskResponse(response, { ...created });
    expect(response.body).to.deep.equal(created);
  });

  it('returns a completed task with its completed_at', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const created = await createTaskAs(api, user, { title: 'Finished', completed: true });

    const response = await api.http.get(`/api/tasks/${created.id}`).set(bearer(user));

    expectTaskResponse(response, { ...created, status: 'completed', completed_at: created.completed_at });
    expect(response.body).to.deep.equal(created);
  });

  it('accepts the id in upper case', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const created = await createTaskAs(api, user);

    const response = await api.http.get(`/api/tasks/${created.id.toUpperCase()}`).set(bearer(user));

    expectTaskResponse(response, { ...created });
    expect(response.body).to.deep.equal(created);
  });

  it('returns 404 for a task that does not exist', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const missingId = unknownTaskId();

    const response = await api.http.get(`/api/tasks/${missingId}`).set(bearer(user));

    expectTaskNotFound(response, `/api/tasks/${missingId}`);
  });

  it("returns 404 for another user's task, indistinguishable from a task that does not exist", async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const stranger = await newUser('stranger');
    const task = await createTaskAs(api, owner, { title: 'Private', description: 'Secret' });
    const missingId = unknownTaskId();

    const othersTask = await api.http.get(`/api/tasks/${task.id}`).set(bearer(stranger));
    const missingTask = await api.http.get(`/api/tasks/${missingId}`).set(bearer(stranger));

    expectTaskNotFound(othersTask, `/api/tasks/${task.id}`);
    expectTaskNotFound(missingTask, `/api/tasks/${missingId}`);
    expect(withoutInstance(othersTask.body)).to.deep.equal(withoutInstance(missingTask.body));
    expect(Object.keys(othersTask.headers).sort()).to.deep.equal(Object.keys(missingTask.headers).sort());
    expect(await readTaskAs(api, owner, task.id)).to.deep.equal(task);
  });

  it('lets two users each read only their own task', async () => {
    const api = await sharedApi();
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const aliceTask = await createTaskAs(api, alice, { title: "Alice's" });
    const bobTask = await createTaskAs(api, bob, { title: "Bob's" });

    expect((await api.http.get(`/api/tasks/${aliceTask.id}`).set(bearer(alice))).body).to.deep.equal(aliceTask);
    expect((await api.http.get(`/api/tasks/${bobTask.id}`).set(bearer(bob))).body).to.deep.equal(bobTask);
    expectTaskNotFound(await api.http.get(`/api/tasks/${bobTask.id}`).set(bearer(alice)), `/api/tasks/${bobTask.id}`);
    expectTaskNotFound(await api.http.get(`/api/tasks/${aliceTask.id}`).set(bearer(bob)), `/api/tasks/${aliceTask.id}`);
  });

  it('returns 422 when the task id is not a UUID', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.get('/api/tasks/not-a-uuid').set(bearer(user));

    expectContractViolation(response, '/api/tasks/not-a-uuid', [{ path: '/params/task_id', keyword: 'invalid_format' }]);
  });
});
