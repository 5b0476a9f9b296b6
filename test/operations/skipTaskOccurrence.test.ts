// POST /api/tasks/{task_id}/skip: the next occurrence, without a completion.
import { expect } from 'chai';
import { newUser, sharedApi } from '../support/api.ts';
import { completionsOf, createRecurringTask, nextWallClock } from '../support/recurrence.ts';
import { bearer, existingTask, expectProblem, expectTaskNotFound, expectTaskResponse, readTaskAs, unknownTaskId } from '../support/tasks.ts';
import { etagOf, readFeedToEnd } from '../support/versions.ts';

describe('skipTaskOccurrence', () => {
  it('moves a recurring task to its next occurrence without recording a completion, with a new ETag and a change in the feed', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-31T08:00:00.000Z', rule: 'FREQ=MONTHLY;BYMONTHDAY=-1', time_zone: 'Europe/London' });
    const before = await api.http.get(`/api/tasks/${task.id}`).set(bearer(user));
    const feed = await readFeedToEnd(api, user);

    const response = await api.http.post(`/api/tasks/${task.id}/skip`).set(bearer(user));

    const skipped = expectTaskResponse(response, { ...task, status: 'pending', completed_at: null, updated_at: undefined, due_at: '2030-02-28T08:00:00.000Z' });
    expect(etagOf(response)).not.to.equal(etagOf(before));
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(skipped);
    expect(await completionsOf(api, user, task.id)).to.deep.equal([]);
    expect((await readFeedToEnd(api, user, feed.next_since)).changes).to.deep.equal([{ id: task.id, deleted: false, task: skipped }]);
  });

  it('moves an overdue task to its first occurrence in the future', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2026-01-05T14:00:00.000Z', rule: 'FREQ=DAILY', time_zone: 'America/New_York' });

    const response = await api.http.post(`/api/tasks/${task.id}/skip`).set(bearer(user));

    expectTaskResponse(response, { ...task, status: 'pending', completed_at: null, updated_at: undefined, due_at: nextWallClock('09:00', 'America/New_York') });
  });

  it('moves a relative reminder with the new due date in the same write, and leaves an absolute one where it was', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const remindAt = '2030-01-07T06:00:00.000Z';
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' }, { reminders: [{ before_due: 'PT15M' }, { remind_at: remindAt }] });
    const [relative, absolute] = task.reminders;

    const response = await api.http.post(`/api/tasks/${task.id}/skip`).set(bearer(user));

    const skipped = expectTaskResponse(response, {
      ...task,
      updated_at: undefined,
      due_at: '2030-01-08T08:00:00.000Z',
      reminders: [{ ...relative!, fire_at: '2030-01-08T07:45:00.000Z' }, absolute!],
    });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(skipped);
    const due = await api.http.get('/api/reminders/due').query({ until: '2999-01-01T00:00:00.000Z' }).set(bearer(user));
    const summary = { id: task.id, title: task.title, due_at: '2030-01-08T08:00:00.000Z' };
    expect(due.body).to.deep.equal([
      { reminder_id: absolute!.id, fire_at: remindAt, task: summary },
      { reminder_id: relative!.id, fire_at: '2030-01-08T07:45:00.000Z', task: summary },
    ]);
  });

  it('counts a skipped occurrence against COUNT, and returns 409 when no occurrence is left to skip to', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY;COUNT=2' });

    await api.http.post(`/api/tasks/${task.id}/skip`).set(bearer(user)).expect(200);
    const response = await api.http.post(`/api/tasks/${task.id}/skip`).set(bearer(user));

    expectProblem(response, { type: 'recurrence-ended', instance: `/api/tasks/${task.id}/skip` });
    expect(await readTaskAs(api, user, task.id)).to.deep.include({ due_at: '2030-01-08T08:00:00.000Z', status: 'pending' });
  });

  it('returns 422 for a task that does not recur, and changes nothing', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { due_at: '2030-01-07T08:00:00.000Z' });

    const response = await api.http.post(`/api/tasks/${task.id}/skip`).set(bearer(user));

    expectProblem(response, { type: 'task-not-recurring',
      instance: `/api/tasks/${task.id}/skip`,
      errors: [{ path: '/params/task_id', keyword: 'invalid' }],
    });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
  });

  it('returns 412 with a stale If-Match', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });

    const response = await api.http.post(`/api/tasks/${task.id}/skip`).set(bearer(user)).set('if-match', '"999999"');

    expectProblem(response, { type: 'task-changed', instance: `/api/tasks/${task.id}/skip` });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
  });

  it("returns 404 for another user's recurring task, indistinguishable from a missing one, and skips nothing", async () => {
    const api = await sharedApi();
    const owner = await newUser();
    const stranger = await newUser();
    const task = await createRecurringTask(api, owner, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    const missing = unknownTaskId();

    expectTaskNotFound(await api.http.post(`/api/tasks/${task.id}/skip`).set(bearer(stranger)), `/api/tasks/${task.id}/skip`);
    expectTaskNotFound(await api.http.post(`/api/tasks/${missing}/skip`).set(bearer(stranger)), `/api/tasks/${missing}/skip`);
    expect(await readTaskAs(api, owner, task.id)).to.deep.equal(task);
  });
});
