import { expect } from 'chai';
import { newUser, sharedApi } from '../support/api.ts';
import {
  bearer,
  completionDisagreement,
  disagreeingCompletionBodies,
  expectContractViolation,
  expectProblem,
  expectTaskNotFound,
  expectTaskResponse,
  expectTimestamp,
  invalidTaskFieldCases,
  readTaskAs,
  unknownTaskId,
  withoutInstance,
  existingTask,
  itRefusesUnreadableBodies,
} from '../support/tasks.ts';

describe('updateTask', () => {
  it('changes only priority when only priority is sent', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { priority: 'low', tags: ['Keep'], due_at: '2026-12-24T12:00:00.000Z' });

    const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ priority: 'high' });

    const updated = expectTaskResponse(response, { ...task, priority: 'high', updated_at: undefined });
    expect(updated.updated_at > task.updated_at).to.equal(true);
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(updated);
  });

  it('replaces the tags (normalised) and sets a due date, leaving the rest as it was', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { priority: 'high', tags: ['Old'] });

    const response = await api.http
      .patch(`/api/tasks/${task.id}`)
      .set(bearer(user))
      .send({ tags: ['New ', 'new', 'Other'], due_at: '2026-12-31T23:59:59Z' });

    const updated = expectTaskResponse(response, { ...task, tags: ['New', 'Other'], due_at: '2026-12-31T23:59:59.000Z', updated_at: undefined });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(updated);
  });

  it('clears the due date with due_at: null and the tags with tags: []', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { tags: ['x'], due_at: '2026-12-31T23:59:59.000Z' });

    const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ tags: [], due_at: null });

    expectTaskResponse(response, { ...task, tags: [], due_at: null, updated_at: undefined });
  });

  itRefusesUnreadableBodies('patch', (taskId) => `/api/tasks/${taskId}`);

  it('changes only the title when only the title is sent, moving updated_at forward and keeping created_at', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { status: 'in_progress' });

    const before = Date.now();
    const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'Renamed' });
    const after = Date.now();

    const updated = expectTaskResponse(response, { ...task, title: 'Renamed', updated_at: undefined });
    expectTimestamp(updated.updated_at, { from: before, to: after });
    expect(updated.updated_at > task.updated_at).to.equal(true);
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(updated);
  });

  it('changes only the description when only the description is sent', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user);

    const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ description: 'New description' });

    const updated = expectTaskResponse(response, { ...task, description: 'New description', updated_at: undefined });
    expect(updated.updated_at > task.updated_at).to.equal(true);
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(updated);
  });

  it('clears the description when description is null, leaving the title', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user);

    const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ description: null });

    const updated = expectTaskResponse(response, { ...task, description: null, updated_at: undefined });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(updated);
  });

  it('keeps a completed task completed, with its completed_at, when only the text changes', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { status: 'completed' });

    const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'Edited', description: 'Edited too' });

    expectTaskResponse(response, { ...task, title: 'Edited', description: 'Edited too', updated_at: undefined });
  });

  it('moves a pending task to in_progress when status is in_progress', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user);

    const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ status: 'in_progress' });

    const updated = expectTaskResponse(response, { ...task, status: 'in_progress', completed_at: null, updated_at: undefined });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(updated);
  });

  for (const fields of [{ completed: true }, { status: 'completed' }, { completed: true, status: 'completed' }]) {
    it(`completes the task, stamped now, when sent ${JSON.stringify(fields)}`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user, { status: 'in_progress' });

      const before = Date.now();
      const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send(fields);
      const after = Date.now();

      const updated = expectTaskResponse(response, { ...task, status: 'completed', completed_at: undefined, updated_at: undefined });
      expectTimestamp(updated.completed_at, { from: before, to: after });
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(updated);
    });
  }

  it('keeps the first completed_at when an already completed task is completed again', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { completed: true });

    const viaFlag = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ completed: true });
    const viaStatus = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ status: 'completed' });

    expectTaskResponse(viaFlag, { ...task, updated_at: undefined });
    expectTaskResponse(viaStatus, { ...task, updated_at: undefined });
  });

  it('reopens a completed task as pending when completed is false', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { completed: true });

    const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ completed: false });

    const updated = expectTaskResponse(response, { ...task, status: 'pending', completed_at: null, updated_at: undefined });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(updated);
  });

  it('leaves an in_progress task in progress when completed is false', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { status: 'in_progress' });

    const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ completed: false });

    const updated = expectTaskResponse(response, { ...task, status: 'in_progress', completed_at: null, updated_at: undefined });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(updated);
  });

  it('moves a completed task to in_progress, clearing completed_at, when status is in_progress', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { status: 'completed' });

    const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ status: 'in_progress' });

    expectTaskResponse(response, { ...task, status: 'in_progress', completed_at: null, updated_at: undefined });
  });

  it('accepts a 500-character title and a 2000-character description', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user);
    const longest = { title: 't'.repeat(500), description: 'd'.repeat(2000) };

    const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send(longest);

    const updated = expectTaskResponse(response, { ...task, ...longest, updated_at: undefined });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(updated);
  });

  it('returns 404 for a task that does not exist', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const missingId = unknownTaskId();

    const response = await api.http.patch(`/api/tasks/${missingId}`).set(bearer(user)).send({ title: 'Anything' });

    expectTaskNotFound(response, `/api/tasks/${missingId}`);
  });

  it("returns 404 for another user's task, indistinguishable from a missing one, and leaves it unchanged", async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const stranger = await newUser('stranger');
    const task = await existingTask(api, owner);
    const missingId = unknownTaskId();

    const othersTask = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(stranger)).send({ description: null, completed: true });
    const missingTask = await api.http.patch(`/api/tasks/${missingId}`).set(bearer(stranger)).send({ description: null, completed: true });

    expectTaskNotFound(othersTask, `/api/tasks/${task.id}`);
    expectTaskNotFound(missingTask, `/api/tasks/${missingId}`);
    expect(withoutInstance(othersTask.body)).to.deep.equal(withoutInstance(missingTask.body));
    expect(await readTaskAs(api, owner, task.id)).to.deep.equal(task);
  });

  it('lets two users each change only their own task', async () => {
    const api = await sharedApi();
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const aliceTask = await existingTask(api, alice);
    const bobTask = await existingTask(api, bob);

    const aliceResponse = await api.http.patch(`/api/tasks/${aliceTask.id}`).set(bearer(alice)).send({ status: 'in_progress' });
    const aliceUpdated = expectTaskResponse(aliceResponse, { ...aliceTask, status: 'in_progress', updated_at: undefined });
    expect(await readTaskAs(api, bob, bobTask.id)).to.deep.equal(bobTask);

    const bobResponse = await api.http.patch(`/api/tasks/${bobTask.id}`).set(bearer(bob)).send({ title: "Bob's" });
    const bobUpdated = expectTaskResponse(bobResponse, { ...bobTask, title: "Bob's", updated_at: undefined });
    expect(await readTaskAs(api, alice, aliceTask.id)).to.deep.equal(aliceUpdated);
    expect(await readTaskAs(api, bob, bobTask.id)).to.deep.equal(bobUpdated);
  });

  it('returns 422 when the body is an empty object, and leaves the task unchanged', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user);

    const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({});

    expectContractViolation(response, `/api/tasks/${task.id}`, [{ path: '/body', keyword: 'empty' }]);
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
  });

  it('returns 422 when the title is null, and leaves the task unchanged', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user);

    const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: null });

    expectContractViolation(response, `/api/tasks/${task.id}`, [{ path: '/body/title', keyword: 'wrong_type' }]);
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
  });

  for (const { problem, body, errors } of invalidTaskFieldCases) {
    it(`returns 422 when ${problem}, and leaves the task unchanged`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user);

      const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send(body);

      expectContractViolation(response, `/api/tasks/${task.id}`, errors);
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
    });
  }

  for (const { title: _title, ...body } of disagreeingCompletionBodies) {
    it(`returns 422 when completed is ${body.completed} but status is "${body.status}", and leaves the task unchanged`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user);

      const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send(body);

      expectProblem(response, { instance: `/api/tasks/${task.id}`, ...completionDisagreement });
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
    });
  }

  it('returns 422 when the task id is not a UUID', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.patch('/api/tasks/1').set(bearer(user)).send({ title: 'Valid' });

    expectContractViolation(response, '/api/tasks/1', [{ path: '/params/task_id', keyword: 'invalid_format' }]);
  });

  for (const contentType of [undefined, 'application/json']) {
    it(`returns 415 when there is no body (Content-Type ${contentType ?? 'absent'}), and leaves the task unchanged`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user);
      const request = api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).set('content-length', '0');

      const response = await (contentType ? request.set('content-type', contentType) : request);

      expectProblem(response, { type: 'unsupported-media-type', instance: `/api/tasks/${task.id}` });
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
    });
  }
});
