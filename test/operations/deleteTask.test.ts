import { expect } from 'chai';
import { newUser, sharedApi } from '../support/api.ts';
import {
  bearer,
  createTaskAs,
  createTasksInOrder,
  expectContractViolation,
  expectTaskNotFound,
  listAllTasksAs,
  readTaskAs,
  unknownTaskId,
  withoutInstance,
} from '../support/tasks.ts';

describe('deleteTask', () => {
  it('deletes the task with 204 and an empty body; it is then gone and a second delete is 404', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createTaskAs(api, user);

    const response = await api.http.delete(`/api/tasks/${task.id}`).set(bearer(user));

    expect(response.status).to.equal(204);
    expect(response.text).to.equal('');
    expect(response.headers['content-type']).to.equal(undefined);
    expect(response.headers['content-length']).to.equal(undefined);
    expectTaskNotFound(await api.http.get(`/api/tasks/${task.id}`).set(bearer(user)), `/api/tasks/${task.id}`);
    expectTaskNotFound(await api.http.delete(`/api/tasks/${task.id}`).set(bearer(user)), `/api/tasks/${task.id}`);
    expect(await listAllTasksAs(api, user)).to.deep.equal([]);
  });

  it("deletes only that task, leaving the caller's other tasks as they were", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const [oldest, middle, newest] = await createTasksInOrder(api, user, 3);

    const response = await api.http.delete(`/api/tasks/${middle!.id}`).set(bearer(user));

    expect(response.status).to.equal(204);
    expect(await listAllTasksAs(api, user)).to.deep.equal([newest, oldest]);
  });

  it('deletes a completed task too', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createTaskAs(api, user, { title: 'Done', completed: true });

    const response = await api.http.delete(`/api/tasks/${task.id}`).set(bearer(user));

    expect(response.status).to.equal(204);
    expect(response.text).to.equal('');
    expect(await listAllTasksAs(api, user)).to.deep.equal([]);
  });

  it('returns 404 for a task that does not exist', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const missingId = unknownTaskId();

    const response = await api.http.delete(`/api/tasks/${missingId}`).set(bearer(user));

    expectTaskNotFound(response, `/api/tasks/${missingId}`);
  });

  it("returns 404 for another user's task, indistinguishable from a missing one, and does not delete it", async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const stranger = await newUser('stranger');
    const task = await createTaskAs(api, owner);
    const missingId = unknownTaskId();

    const othersTask = await api.http.delete(`/api/tasks/${task.id}`).set(bearer(stranger));
    const missingTask = await api.http.delete(`/api/tasks/${missingId}`).set(bearer(stranger));

    expectTaskNotFound(othersTask, `/api/tasks/${task.id}`);
    expectTaskNotFound(missingTask, `/api/tasks/${missingId}`);
    expect(withoutInstance(othersTask.body)).to.deep.equal(withoutInstance(missingTask.body));
    expect(await readTaskAs(api, owner, task.id)).to.deep.equal(task);
  });

  it('lets two users each delete only their own tasks', async () => {
    const api = await sharedApi();
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const [aliceKept, aliceDeleted] = await createTasksInOrder(api, alice, 2);
    const [bobKept, bobDeleted] = await createTasksInOrder(api, bob, 2);

    expect((await api.http.delete(`/api/tasks/${aliceDeleted!.id}`).set(bearer(alice))).status).to.equal(204);
    expect(await listAllTasksAs(api, bob)).to.deep.equal([bobDeleted, bobKept]);
    expect((await api.http.delete(`/api/tasks/${bobDeleted!.id}`).set(bearer(bob))).status).to.equal(204);

    expect(await listAllTasksAs(api, alice)).to.deep.equal([aliceKept]);
    expect(await listAllTasksAs(api, bob)).to.deep.equal([bobKept]);
  });

  it('returns 422 when the task id is not a UUID', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.delete('/api/tasks/abc').set(bearer(user));

    expectContractViolation(response, '/api/tasks/abc', [{ path: '/params/task_id', keyword: 'invalid_format' }]);
  });
});
