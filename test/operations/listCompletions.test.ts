// GET /api/completions: what the caller completed, across all their tasks, newest first.
import { expect } from 'chai';
import type { Task } from '../../src/contract.ts';
import { newUser, sharedApi, type TestApi, type TestUser } from '../support/api.ts';
import { createRecurringTask } from '../support/recurrence.ts';
import { bearer, expectContractViolation, jsonContentType, nextLinkOf, expectProblem } from '../support/tasks.ts';
import { inTestDatabase } from '../support/versions.ts';

type Completion = { id: string; task_id: string; occurrence_due_at: string | null; completed_at: string };

async function listCompletionsAs(api: TestApi, user: TestUser, query = ''): Promise<Completion[]> {
  const response = await api.http.get(`/api/completions${query}`).set(bearer(user));
  expect(response.status, response.text).to.equal(200);
  expect(response.headers['content-type']).to.equal(jsonContentType);
  return response.body as Completion[];
}

/** Moves a completion's time, to arrange a history spread over days (the API stamps "now"). */
async function completedAt(completionId: string, at: string): Promise<void> {
  await inTestDatabase('update task_completions set completed_at = $2 where id = $1', [completionId, at]);
}

describe('listCompletions', () => {
  it('returns the completions of recurring and one-off tasks alike, newest first, never another user’s', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const stranger = await newUser();
    const recurring = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    const once = (await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Once' })).body as Task;
    const theirs = await createRecurringTask(api, stranger, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    await api.http.patch(`/api/tasks/${recurring.id}/complete`).set(bearer(user)).expect(200);
    await api.http.patch(`/api/tasks/${theirs.id}/complete`).set(bearer(stranger)).expect(200);
    await api.http.patch(`/api/tasks/${once.id}/complete`).set(bearer(user)).expect(200);
    await api.http.patch(`/api/tasks/${recurring.id}/complete`).set(bearer(user)).expect(200);

    const completions = await listCompletionsAs(api, user);

    expect(completions.map((completion) => [completion.task_id, completion.occurrence_due_at])).to.deep.equal([
      [recurring.id, '2030-01-08T08:00:00.000Z'],
      [once.id, null],
      [recurring.id, '2030-01-07T08:00:00.000Z'],
    ]);
    expect((await listCompletionsAs(api, stranger)).map((completion) => completion.task_id)).to.deep.equal([theirs.id]);
  });

  it('answers "what did I finish this week" with since and until, a half-open range', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    for (let index = 0; index < 4; index += 1) await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    const history = await listCompletionsAs(api, user);
    const times = ['2026-11-29T23:59:59.999Z', '2026-11-30T00:00:00.000Z', '2026-12-06T23:59:59.999Z', '2026-12-07T00:00:00.000Z'];
    for (const [index, completion] of [...history].reverse().entries()) await completedAt(completion.id, times[index]!);

    const week = await listCompletionsAs(api, user, '?since=2026-11-30T00:00:00.000Z&until=2026-12-07T00:00:00.000Z');
    const since = await listCompletionsAs(api, user, '?since=2026-12-07T00:00:00Z');
    const until = await listCompletionsAs(api, user, '?until=2026-11-30T00:00:00Z');

    expect(week.map((completion) => completion.completed_at)).to.deep.equal(['2026-12-06T23:59:59.999Z', '2026-11-30T00:00:00.000Z']);
    expect(since.map((completion) => completion.completed_at)).to.deep.equal(['2026-12-07T00:00:00.000Z']);
    expect(until.map((completion) => completion.completed_at)).to.deep.equal(['2026-11-29T23:59:59.999Z']);
  });

  it('pages with a cursor in Link that carries since and until, skipping and repeating nothing', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    for (let index = 0; index < 5; index += 1) await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    const all = await listCompletionsAs(api, user);

    const seen: string[] = [];
    let next: string | undefined = '/api/completions?since=2000-01-01T00:00:00.000Z&limit=2';
    for (let pages = 0; next !== undefined; pages += 1) {
      expect(pages).to.be.below(5);
      const response = await api.http.get(next).set(bearer(user));
      expect(response.status, response.text).to.equal(200);
      seen.push(...(response.body as Completion[]).map((completion) => completion.id));
      next = nextLinkOf(response);
      if (next !== undefined) expect(next).to.match(/^\/api\/completions\?since=2000-01-01T00%3A00%3A00\.000Z&limit=2&cursor=[A-Za-z0-9_-]+$/);
    }
    expect(seen).to.deep.equal(all.map((completion) => completion.id));
  });

  it('returns 422 for a cursor used with other since/until, or by another user', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const stranger = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    for (let index = 0; index < 2; index += 1) await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    const cursor = /cursor=([^&>]+)/.exec(nextLinkOf(await api.http.get('/api/completions?limit=1').set(bearer(user)))!)![1]!;

    const otherRange = await api.http.get(`/api/completions?since=2000-01-01T00:00:00Z&cursor=${cursor}`).set(bearer(user));
    const otherUser = await api.http.get(`/api/completions?cursor=${cursor}`).set(bearer(stranger));

    const errors = [{ path: '/query/cursor', keyword: 'mismatch' }] as const;
    expectProblem(otherRange, { type: 'cursor-mismatch', instance: '/api/completions', errors });
    expectProblem(otherUser, { type: 'cursor-mismatch', instance: '/api/completions', errors });
  });

  it('loses the completions of tasks deleted by clear-completed', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const once = (await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Once', completed: true })).body as Task;
    const kept = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    await api.http.patch(`/api/tasks/${kept.id}/complete`).set(bearer(user)).expect(200);
    expect((await listCompletionsAs(api, user)).map((completion) => completion.task_id)).to.deep.equal([kept.id, once.id]);

    await api.http.post('/api/tasks/clear-completed').set(bearer(user)).expect(200);

    expect((await listCompletionsAs(api, user)).map((completion) => completion.task_id)).to.deep.equal([kept.id]);
  });

  it('returns 422 when since is not a date-time', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.get('/api/completions?since=monday').set(bearer(user));

    expectContractViolation(response, '/api/completions', [{ path: '/query/since', keyword: 'invalid_format' }]);
  });
});
