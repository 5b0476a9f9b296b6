// Reminders on tasks (issue 14 item 1) through every write that carries them, and the list a
// browser tab polls (listDueReminders). Firing itself is the delivery worker's (test/delivery/).
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Task } from '../../src/contract.ts';
import { newUser, sharedApi, type TestApi, type TestUser } from '../support/api.ts';
import { bearer, createTaskAs, expectContractViolation, expectProblem, expectTask, uuidPattern } from '../support/tasks.ts';

const inHours = (hours: number) => new Date(Math.round(Date.now() / 1000) * 1000 + hours * 3_600_000).toISOString();
const minus = (instant: string, ms: number) => new Date(Date.parse(instant) - ms).toISOString();
const farFuture = '2999-01-01T00:00:00.000Z';

const relativeWithoutDueDate = {
  type: 'reminder-needs-due-date',
  errors: [{ path: '/body/due_at', keyword: 'required' }],
} as const;

describe('reminders on createTask', () => {
  let api: TestApi;
  let user: TestUser;
  before(async () => {
    api = await sharedApi();
    user = await newUser();
  });

  it('creates absolute and relative reminders with their fire_at computed, in the order given', async () => {
    const dueAt = inHours(5);
    const remindAt = inHours(1);
    const keptId = randomUUID();
    const response = await api.http
      .post('/api/tasks')
      .set(bearer(user))
      .send({ title: 'Report', due_at: dueAt, reminders: [{ id: keptId, before_due: 'PT15M' }, { remind_at: remindAt }, { before_due: 'P1DT2H' }] });
    expect(response.status, response.text).to.equal(201);
    const task = expectTask(response.body, {
      user_id: user.id,
      title: 'Report',
      description: null,
      status: 'pending',
      due_at: dueAt,
      reminders: [
        { id: keptId, before_due: 'PT15M', fire_at: minus(dueAt, 15 * 60_000), last_fired_at: null },
        { id: response.body.reminders[1].id, remind_at: remindAt, fire_at: remindAt, last_fired_at: null },
        { id: response.body.reminders[2].id, before_due: 'P1DT2H', fire_at: minus(dueAt, 26 * 3_600_000), last_fired_at: null },
      ],
    });
    expect(task.reminders[1]!.id).to.match(uuidPattern);
    expect((await api.http.get(`/api/tasks/${task.id}`).set(bearer(user))).body).to.deep.equal(task);
  });

  it('accepts reminders on the /api/{user_id}/tasks route too', async () => {
    const remindAt = inHours(2);
    const response = await api.http.post(`/api/${user.id}/tasks`).set(bearer(user)).send({ title: 'Legacy', reminders: [{ remind_at: remindAt }] });
    expect(response.status, response.text).to.equal(201);
    expect(response.body.reminders).to.deep.equal([{ id: response.body.reminders[0].id, remind_at: remindAt, fire_at: remindAt, last_fired_at: null }]);
  });

  it('returns 422 for a relative reminder on a task without due_at, and creates nothing', async () => {
    const lonely = await newUser();
    const response = await api.http.post('/api/tasks').set(bearer(lonely)).send({ title: 'No due date', reminders: [{ before_due: 'PT5M' }] });
    expectProblem(response, { ...relativeWithoutDueDate, instance: '/api/tasks' });
    expect((await api.http.get('/api/tasks').set(bearer(lonely))).body).to.deep.equal([]);
  });

  it('returns 422 for a reminder more than 30 days before the due date', async () => {
    const response = await api.http
      .post('/api/tasks')
      .set(bearer(user))
      .send({ title: 'Too early', due_at: inHours(1000), reminders: [{ before_due: 'P30DT1S' }] });
    expectProblem(response, {
      type: 'reminder-too-early',
      instance: '/api/tasks',
      errors: [{ path: '/body/reminders/0/before_due', keyword: 'too_large' }],
    });
  });

  it('accepts a reminder exactly 30 days (P4W2D) before the due date', async () => {
    const dueAt = inHours(1000);
    const task = await createTaskAs(api, user, { title: 'Month ahead', due_at: dueAt, reminders: [{ before_due: 'P4W2D' }] });
    expect(task.reminders[0]!.fire_at).to.equal(minus(dueAt, 30 * 24 * 3_600_000));
  });

  it('returns 422 when two reminders have the same id', async () => {
    const id = randomUUID();
    const response = await api.http
      .post('/api/tasks')
      .set(bearer(user))
      .send({ title: 'Twins', reminders: [{ id, remind_at: inHours(1) }, { id, remind_at: inHours(2) }] });
    expectProblem(response, {
      type: 'reminder-id-repeated',
      instance: '/api/tasks',
      errors: [{ path: '/body/reminders/1/id', keyword: 'duplicate' }],
    });
  });

  it('returns 422 for 11 reminders, a duration with months, and a reminder with both kinds', async () => {
    const eleven = Array.from({ length: 11 }, (_, index) => ({ remind_at: inHours(index + 1) }));
    expectContractViolation(await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Many', reminders: eleven }), '/api/tasks', [
      { path: '/body/reminders', keyword: 'too_many' },
    ]);
    const months = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Months', due_at: farFuture, reminders: [{ before_due: 'P1M' }] });
    expect(months.status).to.equal(422);
    expect(months.body.errors.map((error: { path: string }) => error.path)).to.include('/body/reminders/0/before_due');
    const both = await api.http
      .post('/api/tasks')
      .set(bearer(user))
      .send({ title: 'Both', due_at: farFuture, reminders: [{ remind_at: inHours(1), before_due: 'PT1M' }] });
    expect(both.status).to.equal(422);
  });

  it('keeps a reminder set in the past but never lists it as due (no retroactive delivery)', async () => {
    const owner = await newUser();
    const past = inHours(-1);
    const task = await createTaskAs(api, owner, { title: 'Too late', reminders: [{ remind_at: past }] });
    expect(task.reminders).to.deep.equal([{ id: task.reminders[0]!.id, remind_at: past, fire_at: past, last_fired_at: null }]);
    const due = await api.http.get('/api/reminders/due').query({ until: farFuture }).set(bearer(owner));
    expect(due.body).to.deep.equal([]);
  });
});

describe('reminders on updateTask and replaceTask', () => {
  let api: TestApi;
  let user: TestUser;
  before(async () => {
    api = await sharedApi();
    user = await newUser();
  });

  it('moves a relative reminder when due_at changes, and leaves an absolute one where it was', async () => {
    const remindAt = inHours(1);
    const task = await createTaskAs(api, user, { title: 'Moving', due_at: inHours(5), reminders: [{ before_due: 'PT1H' }, { remind_at: remindAt }] });
    const newDue = inHours(48);
    const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ due_at: newDue });
    expect(response.status, response.text).to.equal(200);
    expect(response.body.reminders).to.deep.equal([
      { ...task.reminders[0], fire_at: minus(newDue, 3_600_000) },
      task.reminders[1],
    ]);
  });

  it('returns 422 when due_at is cleared while a relative reminder remains, and writes nothing', async () => {
    const task = await createTaskAs(api, user, { title: 'Keep due', due_at: inHours(5), reminders: [{ before_due: 'PT1H' }] });
    const response = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ due_at: null, title: 'Changed' });
    expectProblem(response, { ...relativeWithoutDueDate, instance: `/api/tasks/${task.id}` });
    expect((await api.http.get(`/api/tasks/${task.id}`).set(bearer(user))).body).to.deep.equal(task);
  });

  it('replaces the reminders when a list is sent, keeping the ids sent back and dropping the others', async () => {
    const task = await createTaskAs(api, user, { title: 'Replace', due_at: inHours(5), reminders: [{ before_due: 'PT1H' }, { before_due: 'PT2H' }] });
    const [first] = task.reminders as [Task['reminders'][number]];
    const response = await api.http
      .patch(`/api/tasks/${task.id}`)
      .set(bearer(user))
      .send({ reminders: [{ remind_at: inHours(3) }, { id: first.id, before_due: 'PT30M' }] });
    expect(response.status, response.text).to.equal(200);
    expect(response.body.reminders).to.have.length(2);
    expect(response.body.reminders[1]).to.deep.equal({ id: first.id, before_due: 'PT30M', fire_at: minus(task.due_at!, 30 * 60_000), last_fired_at: null });
    expect(response.body.reminders[0].id).not.to.be.oneOf(task.reminders.map((reminder) => reminder.id));
    const cleared = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ reminders: [] });
    expect(cleared.body.reminders).to.deep.equal([]);
  });

  it('keeps the reminders on a PUT that does not send them, and replaces them on one that does', async () => {
    const task = await createTaskAs(api, user, { title: 'Put', reminders: [{ remind_at: inHours(1) }] });
    const kept = await api.http.put(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'Put again' });
    expect(kept.body.reminders).to.deep.equal(task.reminders);
    const remindAt = inHours(9);
    const replaced = await api.http.put(`/api/${user.id}/tasks/${task.id}`).set(bearer(user)).send({ title: 'Put', reminders: [{ remind_at: remindAt }] });
    expect(replaced.body.reminders).to.deep.equal([{ id: replaced.body.reminders[0].id, remind_at: remindAt, fire_at: remindAt, last_fired_at: null }]);
  });
});

describe('reminders on completeTask and deleteTask', () => {
  let api: TestApi;
  before(async () => {
    api = await sharedApi();
  });

  const due = async (user: TestUser) => (await api.http.get('/api/reminders/due').query({ until: farFuture }).set(bearer(user))).body as unknown[];

  it('cancels pending reminders when the task is completed, and lets those still ahead fire when it is reopened', async () => {
    const user = await newUser();
    const task = await createTaskAs(api, user, { title: 'Complete me', reminders: [{ remind_at: inHours(1) }] });
    expect(await due(user)).to.have.length(1);
    expect((await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user))).status).to.equal(200);
    expect(await due(user)).to.deep.equal([]);
    const reopened = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).send({ completed: false });
    expect(reopened.body.reminders).to.deep.equal(task.reminders);
    expect(await due(user)).to.have.length(1);
  });

  it('moves the reminders of a recurring task when completing it rolls due_at forward', async () => {
    const user = await newUser();
    const dueAt = '2030-01-07T08:00:00.000Z';
    const task = await createTaskAs(api, user, { title: 'Daily', due_at: dueAt, recurrence: { rule: 'FREQ=DAILY', time_zone: 'UTC' }, reminders: [{ before_due: 'PT1H' }] });
    const completed = await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).send({ completed: true });
    expect(completed.status, completed.text).to.equal(200);
    expect(completed.body.due_at).to.equal('2030-01-08T08:00:00.000Z');
    expect(completed.body.reminders).to.deep.equal([{ ...task.reminders[0], fire_at: '2030-01-08T07:00:00.000Z' }]);
    const listed = (await due(user)) as { fire_at: string }[];
    expect(listed.map((entry) => entry.fire_at)).to.deep.equal(['2030-01-08T07:00:00.000Z']);
  });

  it('cancels the reminders of a deleted task', async () => {
    const user = await newUser();
    const task = await createTaskAs(api, user, { title: 'Delete me', reminders: [{ remind_at: inHours(1) }] });
    expect((await api.http.delete(`/api/tasks/${task.id}`).set(bearer(user))).status).to.equal(204);
    expect(await due(user)).to.deep.equal([]);
  });
});

describe('GET /api/reminders/due (listDueReminders)', () => {
  let api: TestApi;
  before(async () => {
    api = await sharedApi();
  });

  it("lists the caller's pending reminders due until then, earliest first, and nobody else's", async () => {
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const dueAt = inHours(10);
    const task = await createTaskAs(api, alice, { title: 'Alice', due_at: dueAt, reminders: [{ before_due: 'PT1H' }, { remind_at: inHours(2) }, { remind_at: inHours(30) }] });
    await createTaskAs(api, bob, { title: 'Bob', reminders: [{ remind_at: inHours(2) }] });
    const response = await api.http.get('/api/reminders/due').query({ until: inHours(20) }).set(bearer(alice));
    expect(response.status).to.equal(200);
    const summary = { id: task.id, title: 'Alice', due_at: dueAt };
    expect(response.body).to.deep.equal([
      { reminder_id: task.reminders[1]!.id, fire_at: task.reminders[1]!.fire_at, task: summary },
      { reminder_id: task.reminders[0]!.id, fire_at: minus(dueAt, 3_600_000), task: summary },
    ]);
    const limited = await api.http.get('/api/reminders/due').query({ until: farFuture, limit: 1 }).set(bearer(alice));
    expect(limited.body).to.deep.equal([response.body[0]]);
  });

  it('returns 422 without until, and with until that is not a date-time', async () => {
    const user = await newUser();
    expectContractViolation(await api.http.get('/api/reminders/due').set(bearer(user)), '/api/reminders/due', [
      { path: '/query/until', keyword: 'required' },
    ]);
    const wrong = await api.http.get('/api/reminders/due').query({ until: 'tomorrow' }).set(bearer(user));
    expect(wrong.status).to.equal(422);
  });
});
