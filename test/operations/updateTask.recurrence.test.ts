// Making a task recur, changing how, and stopping, through PATCH and PUT (both route sets).
import { expect } from 'chai';
import type { Task } from '../../src/contract.ts';
import { newUser, sharedApi } from '../support/api.ts';
import { createRecurringTask } from '../support/recurrence.ts';
import { bearer, existingTask, expectTaskResponse, readTaskAs, expectProblem } from '../support/tasks.ts';

const weekly = { rule: 'FREQ=WEEKLY;BYDAY=MO', time_zone: 'America/New_York', basis: 'due' } as const;

for (const method of ['patch', 'put'] as const) {
  describe(method === 'patch' ? 'updateTask' : 'replaceTask', () => {
    const body = (task: Task, fields: Record<string, unknown>) => (method === 'put' ? { title: task.title, description: task.description, ...fields } : fields);

    it('makes a task with a due date recur, and the answer carries the normalised recurrence', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user, { due_at: '2030-01-07T14:00:00.000Z' });

      const response = await api.http[method](`/api/tasks/${task.id}`).set(bearer(user)).send(body(task, { recurrence: { rule: 'byday=mo;freq=weekly', time_zone: 'America/New_York' } }));

      const updated = expectTaskResponse(response, { ...task, updated_at: undefined, recurrence: weekly });
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(updated);
    });

    it('stops recurring with recurrence: null, keeping the due date', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await createRecurringTask(api, user, { due_at: '2030-01-07T14:00:00.000Z', rule: 'FREQ=DAILY' });

      const response = await api.http[method](`/api/tasks/${task.id}`).set(bearer(user)).send(body(task, { recurrence: null }));

      expectTaskResponse(response, { ...task, updated_at: undefined, recurrence: null });
    });

    it('keeps the recurrence when it is not sent', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await createRecurringTask(api, user, { due_at: '2030-01-07T14:00:00.000Z', rule: 'FREQ=DAILY' });

      const response = await api.http[method](`/api/tasks/${task.id}`).set(bearer(user)).send(body(task, { title: 'Renamed' }));

      expectTaskResponse(response, { ...task, title: 'Renamed', updated_at: undefined });
    });

    it('moves the series with a new due date: the next occurrences follow from it', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await createRecurringTask(api, user, { due_at: '2030-01-07T14:00:00.000Z', rule: 'FREQ=DAILY', time_zone: 'America/New_York' });

      await api.http[method](`/api/tasks/${task.id}`).set(bearer(user)).send(body(task, { due_at: '2030-01-10T20:30:00.000Z' })).expect(200);
      const completed = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user));

      expect(completed.body.due_at).to.equal('2030-01-11T20:30:00.000Z');
    });

    it('returns 422 and changes nothing when a task without a due date is made to recur', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user);

      const response = await api.http[method](`/api/tasks/${task.id}`).set(bearer(user)).send(body(task, { recurrence: { rule: 'FREQ=DAILY' } }));

      expectProblem(response, { type: 'recurrence-needs-due-date',
        instance: `/api/tasks/${task.id}`,
        errors: [{ path: '/body/due_at', keyword: 'required' }],
      });
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
    });

    it("returns 422 and changes nothing when a recurring task's due date is cleared", async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await createRecurringTask(api, user, { due_at: '2030-01-07T14:00:00.000Z', rule: 'FREQ=DAILY' });

      const response = await api.http[method](`/api/tasks/${task.id}`).set(bearer(user)).send(body(task, { due_at: null }));

      expectProblem(response, { type: 'recurrence-needs-due-date',
        instance: `/api/tasks/${task.id}`,
        errors: [{ path: '/body/due_at', keyword: 'required' }],
      });
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
    });

    it('returns 422 naming the part, and changes nothing, for a rule outside the subset', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await createRecurringTask(api, user, { due_at: '2030-01-07T14:00:00.000Z', rule: 'FREQ=DAILY' });

      const response = await api.http[method](`/api/tasks/${task.id}`).set(bearer(user)).send(body(task, { recurrence: { rule: 'FREQ=DAILY;BYHOUR=9' } }));

      expectProblem(response, { type: 'recurrence-rule-unsupported',
        instance: `/api/tasks/${task.id}`,
        errors: [{ path: '/body/recurrence/rule', keyword: 'not_allowed' }],
      });
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
    });

    it('returns 422 and changes nothing when the new rule has no occurrence after the due date within ten years', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user, { due_at: '2030-01-07T14:00:00.000Z' });

      const response = await api.http[method](`/api/tasks/${task.id}`).set(bearer(user)).send(body(task, { recurrence: { rule: 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30' } }));

      expectProblem(response, { type: 'recurrence-never-occurs',
        instance: `/api/tasks/${task.id}`,
        errors: [{ path: '/body/recurrence/rule', keyword: 'invalid' }],
      });
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
    });

    it('accepts the recurrence on the user-scoped route too', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user, { due_at: '2030-01-07T14:00:00.000Z' });

      const response = await api.http[method](`/api/${user.id}/tasks/${task.id}`).set(bearer(user)).send(body(task, { recurrence: weekly }));

      expectTaskResponse(response, { ...task, updated_at: undefined, recurrence: weekly });
    });
  });
}
