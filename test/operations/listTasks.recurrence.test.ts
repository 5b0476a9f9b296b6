// listTasks' recurring filter.
import { expect } from 'chai';
import { newUser, sharedApi } from '../support/api.ts';
import { createRecurringTask } from '../support/recurrence.ts';
import { bearer, createTaskAs, expectContractViolation, nextLinkOf, pause } from '../support/tasks.ts';

describe('listTasks', () => {
  it('lists only recurring tasks with recurring=true and only the others with recurring=false, newest first', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const daily = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' });
    await pause();
    const once = await createTaskAs(api, user, { title: 'Once', due_at: '2030-01-07T08:00:00.000Z' });
    await pause();
    const weekly = await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=WEEKLY' });

    const recurring = await api.http.get('/api/tasks?recurring=true').set(bearer(user));
    const notRecurring = await api.http.get('/api/tasks?recurring=false').set(bearer(user));

    expect(recurring.status, recurring.text).to.equal(200);
    expect(recurring.body).to.deep.equal([weekly, daily]);
    expect(notRecurring.body).to.deep.equal([once]);
  });

  it('pages a recurring=true list by cursor, the filter carried in the Link', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const tasks = [];
    for (let index = 0; index < 3; index += 1) {
      tasks.unshift(await createRecurringTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', rule: 'FREQ=DAILY' }));
      await createTaskAs(api, user, { title: `Once ${index}` });
      await pause();
    }

    const first = await api.http.get('/api/tasks?recurring=true&sort=due_at&limit=2').set(bearer(user));
    const next = nextLinkOf(first);
    const second = await api.http.get(next!).set(bearer(user));

    expect(next).to.match(/^\/api\/tasks\?recurring=true&sort=due_at&limit=2&cursor=/);
    expect([...first.body, ...second.body].map((task: { id: string }) => task.id).sort()).to.deep.equal(tasks.map((task) => task.id).sort());
    expect(nextLinkOf(second)).to.equal(undefined);
  });

  it('returns 422 when recurring is not a boolean', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.get('/api/tasks?recurring=yes').set(bearer(user));

    expectContractViolation(response, '/api/tasks', [{ path: '/query/recurring', keyword: 'wrong_type' }]);
  });
});
