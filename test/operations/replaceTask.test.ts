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

describe('replaceTask', () => {
  it('replaces priority, tags and due_at when they are sent, normalising the tags', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { priority: 'low', tags: ['old'], due_at: '2026-01-01T00:00:00.000Z' });

    const response = await api.http
      .put(`/api/tasks/${task.id}`)
      .set(bearer(user))
      .send({ title: 'Replaced', priority: 'high', tags: [' Home ', 'HOME', 'garden'], due_at: '2027-02-03T04:05:06.007Z' });

    const replaced = expectTaskResponse(response, {
      ...task,
      title: 'Replaced',
      description: null,
      priority: 'high',
      tags: ['Home', 'garden'],
      due_at: '2027-02-03T04:05:06.007Z',
      updated_at: undefined,
    });
    expect(replaced.updated_at > task.updated_at).to.equal(true);
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(replaced);
  });

  it('keeps priority, tags and due_at when they are not sent (a frontend that predates them does not wipe them)', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { priority: 'high', tags: ['Work'], due_at: '2026-12-24T12:00:00.000Z' });

    const response = await api.http.put(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'Retitled' });

    const replaced = expectTaskResponse(response, { ...task, title: 'Retitled', description: null, updated_at: undefined });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(replaced);
  });

  it('clears the due date and the tags when due_at is null and tags is empty', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { tags: ['a', 'b'], due_at: '2026-12-24T12:00:00.000Z' });

    const response = await api.http.put(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'Original', tags: [], due_at: null });

    expectTaskResponse(response, { ...task, description: null, tags: [], due_at: null, updated_at: undefined });
  });

  itRefusesUnreadableBodies('put', (taskId) => `/api/tasks/${taskId}`);

  it('replaces the title and description, moves updated_at forward and keeps created_at', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user);

    const before = Date.now();
    const response = await api.http
      .put(`/api/tasks/${task.id}`)
      .set(bearer(user))
      .send({ title: 'Replaced', description: 'Replaced description' });
    const after = Date.now();

    const replaced = expectTaskResponse(response, {
      id: task.id,
      user_id: user.id,
      title: 'Replaced',
      description: 'Replaced description',
      status: 'pending',
      completed_at: null,
      created_at: task.created_at,
    });
    expectTimestamp(replaced.updated_at, { from: before, to: after });
    expect(replaced.updated_at > task.updated_at).to.equal(true);
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(replaced);
  });

  it('sets the description to null when it is omitted', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user);

    const response = await api.http.put(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'Only a title' });

    const replaced = expectTaskResponse(response, {
      id: task.id,
      user_id: user.id,
      title: 'Only a title',
      description: null,
      status: 'pending',
      created_at: task.created_at,
    });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(replaced);
  });

  it('keeps a completed task completed, with its completed_at, when neither completed nor status is sent', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { status: 'completed' });

    const response = await api.http.put(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'Edited text' });

    const replaced = expectTaskResponse(response, {
      id: task.id,
      user_id: user.id,
      title: 'Edited text',
      description: null,
      status: 'completed',
      completed_at: task.completed_at,
      created_at: task.created_at,
    });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(replaced);
  });

  it('keeps an in_progress task in progress when neither completed nor status is sent', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { status: 'in_progress' });

    const response = await api.http.put(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'Edited text', description: 'New' });

    expectTaskResponse(response, {
      id: task.id,
      user_id: user.id,
      title: 'Edited text',
      description: 'New',
      status: 'in_progress',
      created_at: task.created_at,
    });
  });

  it('completes the task, stamped now, when completed is true', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user);

    const before = Date.now();
    const response = await api.http.put(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'Done', completed: true });
    const after = Date.now();

    const replaced = expectTaskResponse(response, {
      id: task.id,
      user_id: user.id,
      title: 'Done',
      description: null,
      status: 'completed',
      created_at: task.created_at,
    });
    expectTimestamp(replaced.completed_at, { from: before, to: after });
  });

  it('sets the status that is sent, clearing completed_at when it leaves "completed"', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { status: 'completed' });

    const response = await api.http.put(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'Back on it', status: 'in_progress' });

    const replaced = expectTaskResponse(response, {
      id: task.id,
      user_id: user.id,
      title: 'Back on it',
      description: null,
      status: 'in_progress',
      completed_at: null,
      created_at: task.created_at,
    });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(replaced);
  });

  it('reopens a completed task as pending when completed is false', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { completed: true });

    const response = await api.http.put(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'Again', completed: false });

    expectTaskResponse(response, {
      id: task.id,
      user_id: user.id,
      title: 'Again',
      description: null,
      status: 'pending',
      completed_at: null,
      created_at: task.created_at,
    });
  });

  it('leaves an in_progress task in progress when completed is false', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { status: 'in_progress' });

    const response = await api.http.put(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'Still going', completed: false });

    expectTaskResponse(response, {
      id: task.id,
      user_id: user.id,
      title: 'Still going',
      description: null,
      status: 'in_progress',
      completed_at: null,
      created_at: task.created_at,
    });
  });

  it('accepts a 500-character title, a 2000-character description and a null description', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user);
    const longest = { title: 't'.repeat(500), description: 'd'.repeat(2000) };

    const long = await api.http.put(`/api/tasks/${task.id}`).set(bearer(user)).send(longest);
    expectTaskResponse(long, { id: task.id, user_id: user.id, ...longest, status: 'pending', created_at: task.created_at });

    const cleared = await api.http.put(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'Short', description: null });
    const replaced = expectTaskResponse(cleared, {
      id: task.id,
      user_id: user.id,
      title: 'Short',
      description: null,
      status: 'pending',
      created_at: task.created_at,
    });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(replaced);
  });

  it('returns 404 for a task that does not exist', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const missingId = unknownTaskId();

    const response = await api.http.put(`/api/tasks/${missingId}`).set(bearer(user)).send({ title: 'Anything' });

    expectTaskNotFound(response, `/api/tasks/${missingId}`);
  });

  it("returns 404 for another user's task, indistinguishable from a missing one, and leaves it unchanged", async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const stranger = await newUser('stranger');
    const task = await existingTask(api, owner, { status: 'in_progress' });
    const missingId = unknownTaskId();

    const othersTask = await api.http.put(`/api/tasks/${task.id}`).set(bearer(stranger)).send({ title: 'Hijacked', completed: true });
    const missingTask = await api.http.put(`/api/tasks/${missingId}`).set(bearer(stranger)).send({ title: 'Hijacked', completed: true });

    expectTaskNotFound(othersTask, `/api/tasks/${task.id}`);
    expectTaskNotFound(missingTask, `/api/tasks/${missingId}`);
    expect(withoutInstance(othersTask.body)).to.deep.equal(withoutInstance(missingTask.body));
    expect(await readTaskAs(api, owner, task.id)).to.deep.equal(task);
  });

  it('lets two users each replace only their own task', async () => {
    const api = await sharedApi();
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const aliceTask = await existingTask(api, alice);
    const bobTask = await existingTask(api, bob);

    const aliceResponse = await api.http.put(`/api/tasks/${aliceTask.id}`).set(bearer(alice)).send({ title: "Alice's new title" });
    const aliceReplaced = expectTaskResponse(aliceResponse, { ...aliceTask, title: "Alice's new title", description: null, updated_at: undefined });
    expect(await readTaskAs(api, bob, bobTask.id)).to.deep.equal(bobTask);

    const bobResponse = await api.http.put(`/api/tasks/${bobTask.id}`).set(bearer(bob)).send({ title: "Bob's new title", description: 'B' });
    const bobReplaced = expectTaskResponse(bobResponse, { ...bobTask, title: "Bob's new title", description: 'B', updated_at: undefined });
    expect(await readTaskAs(api, alice, aliceTask.id)).to.deep.equal(aliceReplaced);
    expect(await readTaskAs(api, bob, bobTask.id)).to.deep.equal(bobReplaced);
  });

  it('returns 422 when the title is missing, and leaves the task unchanged', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user);

    const response = await api.http.put(`/api/tasks/${task.id}`).set(bearer(user)).send({ description: 'No title' });

    expectContractViolation(response, `/api/tasks/${task.id}`, [{ path: '/body/title', keyword: 'required' }]);
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
  });

  for (const { problem, body, errors } of invalidTaskFieldCases) {
    it(`returns 422 when ${problem}, and leaves the task unchanged`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user);

      const response = await api.http.put(`/api/tasks/${task.id}`).set(bearer(user)).send(body);

      expectContractViolation(response, `/api/tasks/${task.id}`, errors);
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
    });
  }

  for (const body of disagreeingCompletionBodies) {
    it(`returns 422 when completed is ${body.completed} but status is "${body.status}", and leaves the task unchanged`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user);

      const response = await api.http.put(`/api/tasks/${task.id}`).set(bearer(user)).send(body);

      expectProblem(response, { instance: `/api/tasks/${task.id}`, ...completionDisagreement });
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
    });
  }

  it('returns 422 when the task id is not a UUID', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.put('/api/tasks/42').set(bearer(user)).send({ title: 'Valid' });

    expectContractViolation(response, '/api/tasks/42', [{ path: '/params/task_id', keyword: 'invalid_format' }]);
  });
});
