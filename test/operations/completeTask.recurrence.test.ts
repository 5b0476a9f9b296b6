// Completing a recurring task: one stable task rolled forward in the completion's transaction,
// whichever way it is completed; daylight-saving changes keep the wall-clock time; COUNT and UNTIL
// end the series; a double click is safe (If-Match, Idempotency-Key).
import { expect } from 'chai';
import type { Response } from 'supertest';
import type { Task } from '../../src/contract.ts';
import { newUser, sharedApi, type TestApi, type TestUser } from '../support/api.ts';
import { completionsOf, createRecurringTask, instantOf, localDate, nextWallClock } from '../support/recurrence.ts';
import { bearer, expectProblem, expectTask, expectTaskResponse, pause, readTaskAs } from '../support/tasks.ts';
import { etagOf, readFeedToEnd } from '../support/versions.ts';

/** The task a roll-forward answers with: the same task, pending again, due at `due_at`. */
function expectRolledForward(response: Response, task: Task, due_at: string): Task {
  return expectTaskResponse(response, { ...task, status: 'pending', completed_at: null, updated_at: undefined, due_at });
}

const complete = (api: TestApi, user: TestUser, taskId: string) => api.http.patch(`/api/tasks/${taskId}/complete`).set(bearer(user));

describe('completeTask', () => {
  describe('on a recurring task', () => {
    it('keeps the task, moves due_at to the next occurrence, returns it pending with a new ETag, records the completion and shows in the change feed', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=WEEKLY;BYDAY=MO,WE', time_zone: 'Europe/Paris' });
      const before = await api.http.get(`/api/tasks/${task.id}`).set(bearer(user));
      const feed = await readFeedToEnd(api, user);
      await pause();

      const started = Date.now();
      const response = await complete(api, user, task.id);
      const finished = Date.now();

      const rolled = expectRolledForward(response, task, '2030-01-09T08:00:00.000Z');
      expect(rolled.completed).to.equal(false);
      expect(etagOf(response)).not.to.equal(etagOf(before));
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(rolled);
      const [completion, ...older] = await completionsOf(api, user, task.id);
      expect(older).to.deep.equal([]);
      expect(completion).to.deep.include({ task_id: task.id, occurrence_due_at: '2030-01-07T08:00:00.000Z' });
      expect(Date.parse(completion!.completed_at)).to.be.within(started - 1000, finished + 1);
      expect((await readFeedToEnd(api, user, feed.next_since)).changes).to.deep.equal([{ id: task.id, deleted: false, task: rolled }]);
    });

    const ways: readonly (readonly [string, (api: TestApi, user: TestUser, taskId: string) => Promise<Response>])[] = [
      ['PATCH …/complete with no body (toggle)', (api, user, id) => complete(api, user, id)],
      ['PATCH …/complete with {"completed": true}', (api, user, id) => complete(api, user, id).send({ completed: true })],
      ['PATCH with {"completed": true}', (api, user, id) => api.http.patch(`/api/tasks/${id}`).set(bearer(user)).send({ completed: true })],
      ['PATCH with {"status": "completed"}', (api, user, id) => api.http.patch(`/api/tasks/${id}`).set(bearer(user)).send({ status: 'completed' })],
      ['PUT with {"status": "completed"}', (api, user, id) => api.http.put(`/api/tasks/${id}`).set(bearer(user)).send({ title: 'Recurring', status: 'completed' })],
      ['PUT with {"completed": true}', (api, user, id) => api.http.put(`/api/tasks/${id}`).set(bearer(user)).send({ title: 'Recurring', completed: true })],
      ['the user-scoped PATCH …/complete', (api, user, id) => api.http.patch(`/api/${user.id}/tasks/${id}/complete`).set(bearer(user))],
      ['the user-scoped PATCH', (api, user, id) => api.http.patch(`/api/${user.id}/tasks/${id}`).set(bearer(user)).send({ completed: true })],
      ['the user-scoped PUT', (api, user, id) => api.http.put(`/api/${user.id}/tasks/${id}`).set(bearer(user)).send({ title: 'Recurring', status: 'completed' })],
    ];
    for (const [way, send] of ways) {
      it(`rolls forward when completed with ${way}`, async () => {
        const api = await sharedApi();
        const user = await newUser();
        const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
        await pause();

        const response = await send(api, user, task.id);

        expectRolledForward(response, task, '2030-01-08T08:00:00.000Z');
        expect((await completionsOf(api, user, task.id)).map((completion) => completion.occurrence_due_at)).to.deep.equal(['2030-01-07T08:00:00.000Z']);
      });
    }

    it('records every completion, newest first, one per occurrence done', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=MONTHLY;BYMONTHDAY=31' });

      for (let index = 0; index < 3; index += 1) await complete(api, user, task.id).expect(200);

      // The first due date need not fit the rule (RFC 5545: DTSTART is the first occurrence anyway).
      expect(await readTaskAs(api, user, task.id)).to.deep.include({ due_at: '2030-05-31T08:00:00.000Z', status: 'pending' });
      expect((await completionsOf(api, user, task.id)).map((completion) => completion.occurrence_due_at)).to.deep.equal([
        '2030-03-31T08:00:00.000Z',
        '2030-01-31T08:00:00.000Z',
        '2030-01-07T08:00:00.000Z',
      ]);
    });

    it('passes over the occurrences missed while overdue: the next due date is the first one in the future (basis: due)', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await createRecurringTask(api, user, { due_at: '2026-01-05T08:00:00.000Z', rule: 'FREQ=DAILY', time_zone: 'Europe/Paris' });

      const response = await complete(api, user, task.id);

      expectRolledForward(response, task, nextWallClock('09:00', 'Europe/Paris'));
      expect(await completionsOf(api, user, task.id)).to.have.length(1);
    });

    it('keeps the weekday of a weekly task completed late (basis: due)', async () => {
      const api = await sharedApi();
      const user = await newUser();
      // Mondays at 09:00 in New York, first due on a Monday in the past.
      const task = await createRecurringTask(api, user, { due_at: '2026-01-05T14:00:00.000Z', rule: 'FREQ=WEEKLY;BYDAY=MO', time_zone: 'America/New_York' });

      const response = await complete(api, user, task.id);

      expect(response.status, response.text).to.equal(200);
      const nextDue = response.body.due_at as string;
      expect(new Date(nextDue).getTime()).to.be.above(Date.now()).and.below(Date.now() + 7 * 86_400_000 + 3_600_000);
      expect(new Date(`${localDate(nextDue, 'America/New_York')}T12:00:00Z`).getUTCDay()).to.equal(1);
      expect(nextDue).to.equal(nextWallClock('09:00', 'America/New_York', Date.parse(nextDue) - 1));
    });

    // Overdue, and ahead of its due date: either way the next one is three days after today.
    const fromCompletion = [
      ['counts from the day of completion with basis: completion ("three days after I last did it")', '2026-01-05T08:00:00.000Z'],
      ['counts from the day of completion with basis: completion even when completed ahead of the due date', '2030-01-07T08:00:00.000Z'],
    ] as const;
    for (const [name, dueAt] of fromCompletion) {
      it(name, async () => {
        const api = await sharedApi();
        const user = await newUser();
        const task = await createRecurringTask(api, user, { due_at: dueAt, rule: 'FREQ=DAILY;INTERVAL=3', time_zone: 'Europe/Paris', basis: 'completion' });

        const completedOn = localDate(Date.now(), 'Europe/Paris');
        const response = await complete(api, user, task.id);

        const threeDaysLater = new Date(`${completedOn}T12:00:00Z`);
        threeDaysLater.setUTCDate(threeDaysLater.getUTCDate() + 3);
        expectRolledForward(response, task, instantOf(`${threeDaysLater.toISOString().slice(0, 10)}T09:00`, 'Europe/Paris'));
      });
    }

    const dst: readonly (readonly [string, string, string, string, readonly string[]])[] = [
      ['Paris, 09:00, spring forward', 'Europe/Paris', '2030-03-30T08:00:00.000Z', 'FREQ=DAILY', ['2030-03-31T07:00:00.000Z', '2030-04-01T07:00:00.000Z']],
      ['Paris, 09:00, fall back', 'Europe/Paris', '2030-10-26T07:00:00.000Z', 'FREQ=DAILY', ['2030-10-27T08:00:00.000Z', '2030-10-28T08:00:00.000Z']],
      ['New York, 09:00, spring forward', 'America/New_York', '2030-03-09T14:00:00.000Z', 'FREQ=DAILY', ['2030-03-10T13:00:00.000Z', '2030-03-11T13:00:00.000Z']],
      ['New York, 09:00, fall back', 'America/New_York', '2030-11-02T13:00:00.000Z', 'FREQ=DAILY', ['2030-11-03T14:00:00.000Z', '2030-11-04T14:00:00.000Z']],
      // 02:30 does not exist on the spring-forward day: read with the offset before the gap (03:30
      // local), and the day after the series is back at 02:30, not stuck at 03:30.
      ['Paris, 02:30, the day 02:30 does not exist', 'Europe/Paris', '2030-03-30T01:30:00.000Z', 'FREQ=DAILY', ['2030-03-31T01:30:00.000Z', '2030-04-01T00:30:00.000Z']],
      ['New York, 02:30, the day 02:30 does not exist', 'America/New_York', '2030-03-09T07:30:00.000Z', 'FREQ=DAILY', ['2030-03-10T07:30:00.000Z', '2030-03-11T06:30:00.000Z']],
      // 01:30 happens twice on the fall-back day in New York: the first of the two.
      ['New York, 01:30, the day 01:30 happens twice', 'America/New_York', '2030-11-02T05:30:00.000Z', 'FREQ=DAILY', ['2030-11-03T05:30:00.000Z', '2030-11-04T06:30:00.000Z']],
    ];
    for (const [name, zone, first, rule, following] of dst) {
      it(`keeps the wall-clock time across a daylight-saving change when rolled forward: ${name}`, async () => {
        const api = await sharedApi();
        const user = await newUser();
        const task = await createRecurringTask(api, user, { due_at: first, rule, time_zone: zone });

        const dueDates: string[] = [];
        for (let index = 0; index < following.length; index += 1) dueDates.push((await complete(api, user, task.id).expect(200)).body.due_at);

        expect(dueDates).to.deep.equal(following);
      });
    }

    it('completes the task for good when COUNT is used up, keeping the last occurrence as its due date', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY;COUNT=2' });

      const first = await complete(api, user, task.id);
      const last = await complete(api, user, task.id);

      expectRolledForward(first, task, '2030-01-08T08:00:00.000Z');
      expectTaskResponse(last, { ...task, status: 'completed', completed_at: undefined, updated_at: undefined, due_at: '2030-01-08T08:00:00.000Z' });
      expect((await completionsOf(api, user, task.id)).map((completion) => completion.occurrence_due_at)).to.deep.equal([
        '2030-01-08T08:00:00.000Z',
        '2030-01-07T08:00:00.000Z',
      ]);
    });

    it('completes the task for good when the next occurrence would be after UNTIL', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=WEEKLY;UNTIL=20300114T080000Z' });

      await complete(api, user, task.id).expect(200);
      const last = await complete(api, user, task.id);

      expectTaskResponse(last, { ...task, status: 'completed', completed_at: undefined, updated_at: undefined, due_at: '2030-01-14T08:00:00.000Z' });
    });

    it('rolls forward exactly once when two completions race with the same If-Match: one 200, one 412', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
      const etag = etagOf(await api.http.get(`/api/tasks/${task.id}`).set(bearer(user)));

      const responses = await Promise.all([0, 1].map(() => complete(api, user, task.id).set('if-match', etag).then((response) => response)));

      expect(responses.map((response) => response.status).sort()).to.deep.equal([200, 412]);
      const refused = responses.find((response) => response.status === 412)!;
      expectProblem(refused, { type: 'task-changed', instance: `/api/tasks/${task.id}/complete` });
      expect(await readTaskAs(api, user, task.id)).to.deep.include({ due_at: '2030-01-08T08:00:00.000Z', status: 'pending' });
      expect(await completionsOf(api, user, task.id)).to.have.length(1);
    });

    it('rolls forward exactly once when completions race with the same Idempotency-Key: the others replay it (or are told it is in flight), and a retry replays it', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
      const key = `"double-click-${task.id}"`;

      const responses = await Promise.all([0, 1, 2].map(() => complete(api, user, task.id).set('idempotency-key', key).then((response) => response)));
      const retry = await complete(api, user, task.id).set('idempotency-key', key);

      const succeeded = responses.filter((response) => response.status === 200);
      expect(succeeded.length).to.be.at.least(1);
      for (const response of responses.filter((response) => response.status !== 200)) expect(response.status, response.text).to.equal(409);
      for (const response of [...succeeded, retry]) {
        expect(response.status).to.equal(200);
        expect(response.body).to.deep.equal(succeeded[0]!.body);
        expect(response.headers.etag).to.equal(succeeded[0]!.headers.etag);
      }
      expectTask(retry.body, { ...task, status: 'pending', completed_at: null, updated_at: undefined, due_at: '2030-01-08T08:00:00.000Z' });
      expect(await readTaskAs(api, user, task.id)).to.deep.include({ due_at: '2030-01-08T08:00:00.000Z' });
      expect(await completionsOf(api, user, task.id)).to.have.length(1);
    });

    it('a recurring task created as completed is recorded and rolled forward at once', async () => {
      const api = await sharedApi();
      const user = await newUser();

      const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' }, { completed: true });

      expect(task).to.deep.include({ status: 'pending', completed: false, due_at: '2030-01-08T08:00:00.000Z' });
      expect((await completionsOf(api, user, task.id)).map((completion) => completion.occurrence_due_at)).to.deep.equal(['2030-01-07T08:00:00.000Z']);
    });
  });

  describe('the completion history of a task that does not recur', () => {
    it('records a completion, and reopening the task takes that record back', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
      const once = (await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Once', due_at: '2030-01-07T08:00:00.000Z' })).body as Task;

      await complete(api, user, once.id).expect(200);
      expect((await completionsOf(api, user, once.id)).map((completion) => completion.occurrence_due_at)).to.deep.equal(['2030-01-07T08:00:00.000Z']);
      await complete(api, user, once.id).expect(200);

      expect(await completionsOf(api, user, once.id)).to.deep.equal([]);
      expect(await completionsOf(api, user, task.id)).to.deep.equal([]);
    });

    it('does not record anything for a write that leaves a completed task completed', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const once = (await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Once', completed: true })).body as Task;

      await api.http.patch(`/api/tasks/${once.id}`).set(bearer(user)).send({ title: 'Renamed' }).expect(200);
      await complete(api, user, once.id).send({ completed: true }).expect(200);
      await api.http.put(`/api/tasks/${once.id}`).set(bearer(user)).send({ title: 'Again', status: 'completed' }).expect(200);

      expect((await completionsOf(api, user, once.id)).map((completion) => completion.occurrence_due_at)).to.deep.equal([null]);
    });
  });
});
