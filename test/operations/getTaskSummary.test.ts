// GET /api/tasks/summary: counts by status, overdue (due in the past, not completed) and due today
// (not completed, due within today in the caller's IANA zone, default UTC), for the caller only.
import { expect } from 'chai';
import { newUser, sharedApi, type TestApi, type TestUser } from '../support/api.ts';
import { bearer, createTaskAs, expectContractViolation, expectProblem, jsonContentType } from '../support/tasks.ts';
import { inTestDatabase } from '../support/versions.ts';

const hour = 60 * 60 * 1000;

/** The calendar date of an instant in a zone, as YYYY-MM-DD. */
const localDate = (instant: number, timeZone: string) =>
  new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);

/** Creates a task and sets its due date straight in the database (the API's due_at is another slice's). */
async function taskDueAt(api: TestApi, user: TestUser, dueAt: number, body: Record<string, unknown> = {}): Promise<void> {
  const task = await createTaskAs(api, user, { title: 'Due', ...body });
  await inTestDatabase('update tasks set due_at = $1 where owner_user_id = $2 and id = $3', [new Date(dueAt).toISOString(), user.id, task.id]);
}

async function summaryOf(api: TestApi, user: TestUser, tz?: string) {
  const response = await api.http.get('/api/tasks/summary').query(tz === undefined ? {} : { tz }).set(bearer(user));
  expect(response.status, response.text).to.equal(200);
  expect(response.headers['content-type']).to.equal(jsonContentType);
  return response.body as unknown;
}

describe('getTaskSummary', () => {
  it('counts an empty account as zeros, in UTC by default', async () => {
    const api = await sharedApi();
    const user = await newUser();

    expect(await summaryOf(api, user)).to.deep.equal({
      time_zone: 'UTC',
      total: 0,
      by_status: { pending: 0, in_progress: 0, completed: 0 },
      overdue: 0,
      due_today: 0,
    });
  });

  it('counts tasks by status, and overdue tasks that are not completed', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const now = Date.now();
    await createTaskAs(api, user, { title: 'p' });
    await createTaskAs(api, user, { title: 'i', status: 'in_progress' });
    await taskDueAt(api, user, now - 48 * hour); // overdue, pending
    await taskDueAt(api, user, now - 48 * hour, { status: 'in_progress' }); // overdue, in progress
    await taskDueAt(api, user, now - 48 * hour, { completed: true }); // past due but done: not overdue
    await taskDueAt(api, user, now + 48 * hour); // not yet due

    const summary = await summaryOf(api, user);

    expect(summary).to.deep.equal({
      time_zone: 'UTC',
      total: 6,
      by_status: { pending: 3, in_progress: 2, completed: 1 },
      overdue: 2,
      due_today: 0,
    });
  });

  for (const timeZone of ['UTC', 'Europe/Paris', 'Pacific/Kiritimati', 'Pacific/Pago_Pago', 'America/Argentina/Buenos_Aires']) {
    it(`counts due today by the calendar day in ${timeZone}`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const now = Date.now();
      // Spread over two days either side: which of these fall on "today" depends on the zone.
      const offsets = [-30, -20, -13, -9, -5, -1, 1, 5, 9, 13, 20, 30].map((hours) => hours * hour);
      for (const offset of offsets) await taskDueAt(api, user, now + offset);
      await taskDueAt(api, user, now + 1 * hour, { completed: true }); // due today but done: not counted
      const today = localDate(Date.now(), timeZone);
      const dueToday = offsets.filter((offset) => localDate(now + offset, timeZone) === today).length;
      const overdue = offsets.filter((offset) => offset < 0).length;

      const summary = await summaryOf(api, user, timeZone);

      expect(summary).to.deep.equal({
        time_zone: timeZone,
        total: offsets.length + 1,
        by_status: { pending: offsets.length, in_progress: 0, completed: 1 },
        overdue,
        due_today: dueToday,
      });
    });
  }

  it('accepts the zone with its slash unencoded, as people type it', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.get('/api/tasks/summary?tz=Europe/Paris').set(bearer(user));

    expect(response.status, response.text).to.equal(200);
    expect(response.body).to.deep.equal({
      time_zone: 'Europe/Paris',
      total: 0,
      by_status: { pending: 0, in_progress: 0, completed: 0 },
      overdue: 0,
      due_today: 0,
    });
  });

  it("never counts another user's tasks", async () => {
    const api = await sharedApi();
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    await taskDueAt(api, bob, Date.now() - hour);
    await taskDueAt(api, bob, Date.now() + hour, { completed: true });
    await createTaskAs(api, alice, { title: "Alice's only" });

    expect(await summaryOf(api, alice)).to.deep.equal({
      time_zone: 'UTC',
      total: 1,
      by_status: { pending: 1, in_progress: 0, completed: 0 },
      overdue: 0,
      due_today: 0,
    });
  });

  it('returns 422 for a well-formed zone name PostgreSQL does not know', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.get('/api/tasks/summary?tz=Mars/Olympus_Mons').set(bearer(user));

    expectProblem(response, {
      type: 'unknown-time-zone',
      instance: '/api/tasks/summary',
      errors: [{ path: '/query/tz', keyword: 'unknown' }],
    });
  });

  it('returns 422 for a tz that is not shaped like a zone name (offsets, abbreviations, SQL)', async () => {
    const api = await sharedApi();
    const user = await newUser();

    for (const tz of ['+02:00', 'CEST', "Europe/Paris'; drop table tasks; --"]) {
      const response = await api.http.get('/api/tasks/summary').query({ tz }).set(bearer(user));
      expectContractViolation(response, '/api/tasks/summary', [{ path: '/query/tz', keyword: 'invalid_format' }]);
    }
  });
});
