import { expect } from 'chai';
import { newUser, sharedApi } from '../support/api.ts';
import {
  bearer,
  expectContractViolation,
  expectTaskNotFound,
  expectTaskResponse,
  expectTimestamp,
  pause,
  readTaskAs,
  unknownTaskId,
  withoutInstance,
  existingTask,
  itRefusesUnreadableBodies,
} from '../support/tasks.ts';

describe('completeTask', () => {
  itRefusesUnreadableBodies('patch', (taskId) => `/api/tasks/${taskId}/complete`);

  it('toggles a pending task to completed and back to pending when sent no body', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user);

    const before = Date.now();
    const completing = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user));
    const after = Date.now();
    const completed = expectTaskResponse(completing, { ...task, status: 'completed', completed_at: undefined, updated_at: undefined });
    expectTimestamp(completed.completed_at, { from: before, to: after });
    expectTimestamp(completed.updated_at, { from: before, to: after });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(completed);

    await pause();
    const reopening = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user));
    const reopened = expectTaskResponse(reopening, { ...task, status: 'pending', completed_at: null, updated_at: undefined });
    expect(reopened.updated_at > completed.updated_at).to.equal(true);
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(reopened);
  });

  it('toggles when the request says Content-Type: application/json but has an empty body, as fetch wrappers send', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user);

    const response = await api.http
      .patch(`/api/tasks/${task.id}/complete`)
      .set(bearer(user))
      .set('content-type', 'application/json')
      .set('content-length', '0');

    const completed = expectTaskResponse(response, { ...task, status: 'completed', completed_at: undefined, updated_at: undefined });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(completed);
  });

  it('toggles an in_progress task to completed, and then to pending', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { status: 'in_progress' });

    const completing = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user));
    expectTaskResponse(completing, { ...task, status: 'completed', completed_at: undefined, updated_at: undefined });

    const reopening = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user));
    expectTaskResponse(reopening, { ...task, status: 'pending', completed_at: null, updated_at: undefined });
  });

  it('completes with {"completed": true}, and repeating it keeps the task completed with its first completed_at', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user);

    const first = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).send({ completed: true });
    const completed = expectTaskResponse(first, { ...task, status: 'completed', completed_at: undefined, updated_at: undefined });

    await pause();
    const second = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).send({ completed: true });
    const again = expectTaskResponse(second, { ...completed, updated_at: undefined });
    expect(again.updated_at >= completed.updated_at).to.equal(true);
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(again);
  });

  it('reopens a completed task as pending with {"completed": false}, and repeating it keeps it pending', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { completed: true });

    const first = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).send({ completed: false });
    const reopened = expectTaskResponse(first, { ...task, status: 'pending', completed_at: null, updated_at: undefined });

    const second = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).send({ completed: false });
    const again = expectTaskResponse(second, { ...reopened, updated_at: undefined });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(again);
  });

  it('leaves an in_progress task in progress with {"completed": false}', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { status: 'in_progress' });

    const response = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).send({ completed: false });

    expectTaskResponse(response, { ...task, updated_at: undefined });
  });

  it('returns 404 for a task that does not exist', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const missingId = unknownTaskId();

    const response = await api.http.patch(`/api/tasks/${missingId}/complete`).set(bearer(user));

    expectTaskNotFound(response, `/api/tasks/${missingId}/complete`);
  });

  it("returns 404 for another user's task, indistinguishable from a missing one, and leaves it unchanged", async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const stranger = await newUser('stranger');
    const task = await existingTask(api, owner);
    const missingId = unknownTaskId();

    const toggleOthers = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(stranger));
    const toggleMissing = await api.http.patch(`/api/tasks/${missingId}/complete`).set(bearer(stranger));
    const setOthers = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(stranger)).send({ completed: true });

    expectTaskNotFound(toggleOthers, `/api/tasks/${task.id}/complete`);
    expectTaskNotFound(toggleMissing, `/api/tasks/${missingId}/complete`);
    expectTaskNotFound(setOthers, `/api/tasks/${task.id}/complete`);
    expect(withoutInstance(toggleOthers.body)).to.deep.equal(withoutInstance(toggleMissing.body));
    expect(await readTaskAs(api, owner, task.id)).to.deep.equal(task);
  });

  it('lets two users each complete only their own task', async () => {
    const api = await sharedApi();
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const aliceTask = await existingTask(api, alice);
    const bobTask = await existingTask(api, bob, { completed: true });

    const aliceResponse = await api.http.patch(`/api/tasks/${aliceTask.id}/complete`).set(bearer(alice));
    const aliceCompleted = expectTaskResponse(aliceResponse, { ...aliceTask, status: 'completed', completed_at: undefined, updated_at: undefined });
    expect(await readTaskAs(api, bob, bobTask.id)).to.deep.equal(bobTask);

    const bobResponse = await api.http.patch(`/api/tasks/${bobTask.id}/complete`).set(bearer(bob));
    const bobReopened = expectTaskResponse(bobResponse, { ...bobTask, status: 'pending', completed_at: null, updated_at: undefined });
    expect(await readTaskAs(api, alice, aliceTask.id)).to.deep.equal(aliceCompleted);
    expect(await readTaskAs(api, bob, bobTask.id)).to.deep.equal(bobReopened);
  });

  const invalidBodies = [
    {
      problem: 'the body is an empty object',
      body: {},
      errors: [{ path: '/body/completed', keyword: 'required' }],
    },
    {
      problem: 'completed is a string',
      body: { completed: 'yes' },
      errors: [{ path: '/body/completed', keyword: 'wrong_type' }],
    },
    {
      problem: 'completed is null',
      body: { completed: null },
      errors: [{ path: '/body/completed', keyword: 'wrong_type' }],
    },
    {
      problem: 'a field other than completed is sent',
      body: { completed: true, status: 'completed' },
      errors: [{ path: '/body/status', keyword: 'not_allowed' }],
    },
  ] as const;
  for (const { problem, body, errors } of invalidBodies) {
    it(`returns 422 when ${problem}, and leaves the task unchanged`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user);

      const response = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).send(body);

      expectContractViolation(response, `/api/tasks/${task.id}/complete`, errors);
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
    });
  }

  for (const json of ['null', 'true', '[]']) {
    it(`returns 422 when the body is the JSON ${json} rather than an object, and leaves the task unchanged`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user);

      const response = await api.http
        .patch(`/api/tasks/${task.id}/complete`)
        .set(bearer(user))
        .set('content-type', 'application/json')
        .send(json);

      expectContractViolation(response, `/api/tasks/${task.id}/complete`, [{ path: '/body', keyword: 'wrong_type' }]);
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
    });
  }

  it('returns 422 when the task id is not a UUID', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.patch('/api/tasks/00000000-0000-0000-0000/complete').set(bearer(user));

    expectContractViolation(response, '/api/tasks/00000000-0000-0000-0000/complete', [
      { path: '/params/task_id', keyword: 'invalid_format' },
    ]);
  });
});
