// DELETE /api/tasks/{task_id}/completions/{completion_id}: undo the latest completion only.
import { expect } from 'chai';
import type { Task } from '../../src/contract.ts';
import { newUser, sharedApi, type TestApi, type TestUser } from '../support/api.ts';
import { completionsOf, createRecurringTask } from '../support/recurrence.ts';
import { bearer, expectContractViolation, expectProblem, expectTaskNotFound, expectTaskResponse, pause, readTaskAs, unknownTaskId } from '../support/tasks.ts';
import { etagOf } from '../support/versions.ts';

const path = (taskId: string, completionId: string) => `/api/tasks/${taskId}/completions/${completionId}`;
const dueReminders = async (api: TestApi, user: TestUser) => {
  const response = await api.http.get('/api/reminders/due').query({ until: '2999-01-01T00:00:00.000Z' }).set(bearer(user));
  expect(response.status, response.text).to.equal(200);
  return response.body as unknown[];
};

describe('undoTaskCompletion', () => {
  it('puts a rolled-forward task back on the occurrence completed, drops the record, and answers with the task and a new ETag', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-03-30T01:30:00.000Z', rule: 'FREQ=DAILY', time_zone: 'Europe/Paris' });
    await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    const rolled = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    expect(rolled.body.due_at).to.equal('2030-04-01T00:30:00.000Z');
    const [latest, first] = await completionsOf(api, user, task.id);
    await pause();

    const response = await api.http.delete(path(task.id, latest!.id)).set(bearer(user));

    // Back on the day 02:30 does not exist (due 03:30 local); the series still runs at 02:30.
    const undone = expectTaskResponse(response, { ...task, status: 'pending', completed_at: null, updated_at: undefined, due_at: '2030-03-31T01:30:00.000Z' });
    expect(etagOf(response)).not.to.equal(etagOf(rolled));
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(undone);
    expect(await completionsOf(api, user, task.id)).to.deep.equal([first]);
    const again = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    expect(again.body.due_at).to.equal('2030-04-01T00:30:00.000Z');
  });

  it('restores the count of a COUNT series: undoing the last completion reopens the last occurrence', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY;COUNT=2' });
    await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    const done = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    expect(done.body.status).to.equal('completed');
    const [latest] = await completionsOf(api, user, task.id);

    const response = await api.http.delete(path(task.id, latest!.id)).set(bearer(user));

    expectTaskResponse(response, { ...task, status: 'pending', completed_at: null, updated_at: undefined, due_at: '2030-01-08T08:00:00.000Z' });
    const last = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user));
    expect(last.body).to.deep.include({ status: 'completed', due_at: '2030-01-08T08:00:00.000Z' });
  });

  it('reopens a task that does not recur', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = (await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Once' })).body as Task;
    await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    const [completion] = await completionsOf(api, user, task.id);

    const response = await api.http.delete(path(task.id, completion!.id)).set(bearer(user));

    expectTaskResponse(response, { ...task, status: 'pending', completed_at: null, updated_at: undefined });
    expect(await completionsOf(api, user, task.id)).to.deep.equal([]);
  });

  it('moves a relative reminder back with the due date, pending again while its time is ahead', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' }, { reminders: [{ before_due: 'PT15M' }] });
    const rolled = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    expect(rolled.body.reminders).to.deep.equal([{ ...task.reminders[0], fire_at: '2030-01-08T07:45:00.000Z' }]);
    const [completion] = await completionsOf(api, user, task.id);

    const response = await api.http.delete(path(task.id, completion!.id)).set(bearer(user));

    const undone = expectTaskResponse(response, { ...task, updated_at: undefined, reminders: task.reminders });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(undone);
    expect(await dueReminders(api, user)).to.deep.equal([
      { reminder_id: task.reminders[0]!.id, fire_at: '2030-01-07T07:45:00.000Z', task: { id: task.id, title: task.title, due_at: task.due_at } },
    ]);
  });

  it('moves a relative reminder back into the past without making it due: it is not delivered retroactively', async () => {
    const api = await sharedApi();
    const user = await newUser();
    // Overdue by two hours: the reminder's time had passed when it was set, so it never fires.
    const dueAt = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 2 * 3_600_000).toISOString();
    const firesAt = new Date(Date.parse(dueAt) - 15 * 60_000).toISOString();
    const task = await createRecurringTask(api, user, { due_at: dueAt, rule: 'FREQ=DAILY' }, { reminders: [{ before_due: 'PT15M' }] });
    expect(task.reminders).to.deep.equal([{ id: task.reminders[0]!.id, before_due: 'PT15M', fire_at: firesAt, last_fired_at: null }]);
    const rolled = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    expect(await dueReminders(api, user)).to.deep.equal([
      { reminder_id: task.reminders[0]!.id, fire_at: rolled.body.reminders[0].fire_at, task: { id: task.id, title: task.title, due_at: rolled.body.due_at } },
    ]);
    const [completion] = await completionsOf(api, user, task.id);

    const response = await api.http.delete(path(task.id, completion!.id)).set(bearer(user));

    expectTaskResponse(response, { ...task, updated_at: undefined, reminders: task.reminders });
    expect(await dueReminders(api, user)).to.deep.equal([]);
  });

  it('reopens a task that does not recur and lets its reminder still ahead fire again', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const remindAt = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_000).toISOString();
    const task = (await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Once', reminders: [{ remind_at: remindAt }] })).body as Task;
    await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    expect(await dueReminders(api, user)).to.deep.equal([]);
    const [completion] = await completionsOf(api, user, task.id);

    const response = await api.http.delete(path(task.id, completion!.id)).set(bearer(user));

    expectTaskResponse(response, { ...task, updated_at: undefined });
    expect(await dueReminders(api, user)).to.deep.equal([
      { reminder_id: task.reminders[0]!.id, fire_at: remindAt, task: { id: task.id, title: 'Once', due_at: null } },
    ]);
  });

  it('returns 409 for an older completion, and changes nothing', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    const before = await readTaskAs(api, user, task.id);
    const history = await completionsOf(api, user, task.id);

    const response = await api.http.delete(path(task.id, history[1]!.id)).set(bearer(user));

    expectProblem(response, { type: 'completion-not-latest', instance: path(task.id, history[1]!.id) });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(before);
    expect(await completionsOf(api, user, task.id)).to.deep.equal(history);
  });

  it('returns 412 with a stale If-Match, and changes nothing', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    const stale = etagOf(await api.http.get(`/api/tasks/${task.id}`).set(bearer(user)));
    await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    const [completion] = await completionsOf(api, user, task.id);

    const response = await api.http.delete(path(task.id, completion!.id)).set(bearer(user)).set('if-match', stale);

    expectProblem(response, { type: 'task-changed', instance: path(task.id, completion!.id) });
    expect(await completionsOf(api, user, task.id)).to.deep.equal([completion]);
  });

  it('returns 404 for a completion that is not this task’s, or does not exist', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    const other = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    await api.http.patch(`/api/tasks/${other.id}/complete`).set(bearer(user)).expect(200);
    const [othersCompletion] = await completionsOf(api, user, other.id);
    const missing = unknownTaskId();

    const wrongTask = await api.http.delete(path(task.id, othersCompletion!.id)).set(bearer(user));
    const none = await api.http.delete(path(task.id, missing)).set(bearer(user));

    expectProblem(wrongTask, { type: 'completion-not-found', instance: path(task.id, othersCompletion!.id) });
    expectProblem(none, { type: 'completion-not-found', instance: path(task.id, missing) });
    expect(await completionsOf(api, user, other.id)).to.deep.equal([othersCompletion]);
  });

  it("returns 404 for another user's task or completion, indistinguishable from missing ones, and undoes nothing", async () => {
    const api = await sharedApi();
    const owner = await newUser();
    const stranger = await newUser();
    const task = await createRecurringTask(api, owner, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(owner)).expect(200);
    const [completion] = await completionsOf(api, owner, task.id);
    const strangersTask = await createRecurringTask(api, stranger, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });

    const theirs = await api.http.delete(path(task.id, completion!.id)).set(bearer(stranger));
    const theirCompletionOnMyTask = await api.http.delete(path(strangersTask.id, completion!.id)).set(bearer(stranger));

    expectTaskNotFound(theirs, path(task.id, completion!.id));
    expectProblem(theirCompletionOnMyTask, { type: 'completion-not-found', instance: path(strangersTask.id, completion!.id) });
    expect(await completionsOf(api, owner, task.id)).to.deep.equal([completion]);
  });

  it('returns 422 when an id is not a UUID', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });

    const response = await api.http.delete(path(task.id, 'latest')).set(bearer(user));

    expectContractViolation(response, path(task.id, 'latest'), [{ path: '/params/completion_id', keyword: 'invalid_format' }]);
  });
});
