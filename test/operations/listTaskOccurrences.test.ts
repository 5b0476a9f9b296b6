// The preview of a recurring task's due dates, checked against an independent RFC 5545
// implementation (test/support/recurrence-oracle.ts, generated with python-dateutil + zoneinfo):
// RFC 5545's own examples that fit the subset, month ends, leap days, BYSETPOS and both
// daylight-saving changes in Paris and New York, including a 02:30 that does not exist.
import { expect } from 'chai';
import { newUser, sharedApi } from '../support/api.ts';
import { createRecurringTask } from '../support/recurrence.ts';
import { oracleCases } from '../support/recurrence-oracle.ts';
import {
  bearer,
  existingTask,
  expectContractViolation,
  expectProblem,
  expectTaskNotFound,
  jsonContentType,
  unknownTaskId,
} from '../support/tasks.ts';

describe('listTaskOccurrences', () => {
  for (const { name, timeZone, rule, dueDates } of oracleCases) {
    it(`previews the due dates an independent RFC 5545 implementation gives: ${name}`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await createRecurringTask(api, user, { due_at: dueDates[0]!, rule, time_zone: timeZone });

      // A series that ends (COUNT, UNTIL) is asked for more than it has: the answer must stop.
      const limit = /COUNT|UNTIL/.test(rule) ? 50 : dueDates.length;
      const response = await api.http.get(`/api/tasks/${task.id}/occurrences?limit=${limit}`).set(bearer(user));

      expect(response.status, response.text).to.equal(200);
      expect(response.headers['content-type']).to.equal(jsonContentType);
      expect(response.body).to.deep.equal({ occurrences: dueDates });
    });
  }

  it('returns five due dates by default, the current due date first', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=WEEKLY;BYDAY=MO' });

    const response = await api.http.get(`/api/tasks/${task.id}/occurrences`).set(bearer(user));

    expect(response.status, response.text).to.equal(200);
    expect(response.body).to.deep.equal({
      occurrences: ['2030-01-07T08:00:00.000Z', '2030-01-14T08:00:00.000Z', '2030-01-21T08:00:00.000Z', '2030-01-28T08:00:00.000Z', '2030-02-04T08:00:00.000Z'],
    });
  });

  it('returns only the current due date with limit=1, and fewer than asked when COUNT ends the series', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY;COUNT=3' });

    const one = await api.http.get(`/api/tasks/${task.id}/occurrences?limit=1`).set(bearer(user));
    const all = await api.http.get(`/api/tasks/${task.id}/occurrences?limit=50`).set(bearer(user));

    expect(one.body).to.deep.equal({ occurrences: ['2030-01-07T08:00:00.000Z'] });
    expect(all.body).to.deep.equal({ occurrences: ['2030-01-07T08:00:00.000Z', '2030-01-08T08:00:00.000Z', '2030-01-09T08:00:00.000Z'] });
  });

  it('looks ten years ahead of the current due date: a leap-day rule shows 2028 and 2032, not 2036', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2024-02-29T08:00:00.000Z', rule: 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29' });

    const response = await api.http.get(`/api/tasks/${task.id}/occurrences?limit=5`).set(bearer(user));

    expect(response.body).to.deep.equal({ occurrences: ['2024-02-29T08:00:00.000Z', '2028-02-29T08:00:00.000Z', '2032-02-29T08:00:00.000Z'] });
  });

  it('returns no due dates for a series completed for good', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY;COUNT=2' });
    await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    const last = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).expect(200);
    expect(last.body.status).to.equal('completed');

    const response = await api.http.get(`/api/tasks/${task.id}/occurrences`).set(bearer(user));

    expect(response.status, response.text).to.equal(200);
    expect(response.body).to.deep.equal({ occurrences: [] });
  });

  it('returns 422 for a task that does not recur', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user, { due_at: '2030-01-07T08:00:00.000Z' });

    const response = await api.http.get(`/api/tasks/${task.id}/occurrences`).set(bearer(user));

    expectProblem(response, { type: 'task-not-recurring',
      instance: `/api/tasks/${task.id}/occurrences`,
      errors: [{ path: '/params/task_id', keyword: 'invalid' }],
    });
  });

  for (const limit of ['0', '51', 'five']) {
    it(`returns 422 when limit is ${limit}`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });

      const response = await api.http.get(`/api/tasks/${task.id}/occurrences?limit=${limit}`).set(bearer(user));

      const keyword = ({ '0': 'too_small', '51': 'too_large', five: 'wrong_type' } as const)[limit as '0' | '51' | 'five'];
      expectContractViolation(response, `/api/tasks/${task.id}/occurrences`, [{ path: '/query/limit', keyword }]);
    });
  }

  it("returns 404 for another user's recurring task, indistinguishable from a missing one", async () => {
    const api = await sharedApi();
    const owner = await newUser();
    const stranger = await newUser();
    const task = await createRecurringTask(api, owner, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });

    const theirs = await api.http.get(`/api/tasks/${task.id}/occurrences`).set(bearer(stranger));
    const missing = unknownTaskId();
    const none = await api.http.get(`/api/tasks/${missing}/occurrences`).set(bearer(stranger));

    expectTaskNotFound(theirs, `/api/tasks/${task.id}/occurrences`);
    expectTaskNotFound(none, `/api/tasks/${missing}/occurrences`);
  });
});
