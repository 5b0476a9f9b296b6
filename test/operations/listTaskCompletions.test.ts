// GET /api/tasks/{task_id}/completions: a task's completions, newest first, paged by cursor.
import { expect } from 'chai';
import type { Task } from '../../src/contract.ts';
import { newUser, sharedApi } from '../support/api.ts';
import { createRecurringTask } from '../support/recurrence.ts';
import { bearer, expectContractViolation, expectTaskNotFound, expectTimestamp, jsonContentType, nextLinkOf, unknownTaskId, uuidPattern, expectProblem } from '../support/tasks.ts';

describe('listTaskCompletions', () => {
  it('returns every completion of the task, newest first, each whole', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=WEEKLY' });
    const started = Date.now();
    for (let index = 0; index < 3; index += 1) await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    const finished = Date.now();

    const response = await api.http.get(`/api/tasks/${task.id}/completions`).set(bearer(user));

    expect(response.status, response.text).to.equal(200);
    expect(response.headers['content-type']).to.equal(jsonContentType);
    expect(response.headers.link).to.equal(undefined);
    const completions = response.body as { id: string; task_id: string; occurrence_due_at: string; completed_at: string }[];
    expect(completions.map((completion) => completion.occurrence_due_at)).to.deep.equal([
      '2030-01-21T08:00:00.000Z',
      '2030-01-14T08:00:00.000Z',
      '2030-01-07T08:00:00.000Z',
    ]);
    for (const completion of completions) {
      expect(Object.keys(completion).sort()).to.deep.equal(['completed_at', 'id', 'occurrence_due_at', 'task_id']);
      expect(completion.id).to.match(uuidPattern);
      expect(completion.task_id).to.equal(task.id);
      expectTimestamp(completion.completed_at, { from: started - 1000, to: finished });
    }
    expect(new Set(completions.map((completion) => completion.id)).size).to.equal(3);
  });

  it('returns an empty list for a task never completed', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = (await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Never done' })).body as Task;

    const response = await api.http.get(`/api/tasks/${task.id}/completions`).set(bearer(user));

    expect(response.status, response.text).to.equal(200);
    expect(response.body).to.deep.equal([]);
  });

  it('pages with a cursor in Link: no completion skipped or repeated', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    for (let index = 0; index < 5; index += 1) await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    const all = (await api.http.get(`/api/tasks/${task.id}/completions`).set(bearer(user))).body as { id: string }[];

    const seen: string[] = [];
    let next: string | undefined = `/api/tasks/${task.id}/completions?limit=2`;
    for (let pages = 0; next !== undefined; pages += 1) {
      expect(pages).to.be.below(5);
      const response = await api.http.get(next).set(bearer(user));
      expect(response.status, response.text).to.equal(200);
      seen.push(...(response.body as { id: string }[]).map((completion) => completion.id));
      next = nextLinkOf(response);
      if (next !== undefined) expect(next).to.match(new RegExp(`^/api/tasks/${task.id}/completions\\?limit=2&cursor=[A-Za-z0-9_-]+$`));
    }
    expect(seen).to.deep.equal(all.map((completion) => completion.id));
  });

  it("returns 422 for a cursor issued for another task's history, or a damaged one", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    const other = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    for (let index = 0; index < 2; index += 1) await api.http.patch(`/api/tasks/${other.id}/complete`).set(bearer(user)).expect(200);
    const cursor = /cursor=([^&>]+)/.exec(nextLinkOf(await api.http.get(`/api/tasks/${other.id}/completions?limit=1`).set(bearer(user)))!)![1]!;

    const foreign = await api.http.get(`/api/tasks/${task.id}/completions?cursor=${cursor}`).set(bearer(user));
    const damaged = await api.http.get(`/api/tasks/${task.id}/completions?cursor=abc`).set(bearer(user));

    expectProblem(foreign, { type: 'cursor-mismatch', instance: `/api/tasks/${task.id}/completions`, errors: [{ path: '/query/cursor', keyword: 'mismatch' }] });
    expectProblem(damaged, { type: 'cursor-invalid', instance: `/api/tasks/${task.id}/completions`, errors: [{ path: '/query/cursor', keyword: 'invalid' }] });
  });

  it('returns 422 when limit is out of range', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const taskId = unknownTaskId();

    const response = await api.http.get(`/api/tasks/${taskId}/completions?limit=201`).set(bearer(user));

    expectContractViolation(response, `/api/tasks/${taskId}/completions`, [{ path: '/query/limit', keyword: 'too_large' }]);
  });

  it("returns 404 for another user's task, indistinguishable from a missing one, never listing their completions", async () => {
    const api = await sharedApi();
    const owner = await newUser();
    const stranger = await newUser();
    const task = await createRecurringTask(api, owner, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(owner)).expect(200);
    const missing = unknownTaskId();

    expectTaskNotFound(await api.http.get(`/api/tasks/${task.id}/completions`).set(bearer(stranger)), `/api/tasks/${task.id}/completions`);
    expectTaskNotFound(await api.http.get(`/api/tasks/${missing}/completions`).set(bearer(stranger)), `/api/tasks/${missing}/completions`);
  });

  it('returns 404 once the task is deleted: its completions go with it', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);

    await api.http.delete(`/api/tasks/${task.id}`).set(bearer(user)).expect(204);

    expectTaskNotFound(await api.http.get(`/api/tasks/${task.id}/completions`).set(bearer(user)), `/api/tasks/${task.id}/completions`);
    expect((await api.http.get('/api/completions').set(bearer(user))).body).to.deep.equal([]);
  });
});
