// The common writes run as one statement (src/database/task-writes.ts) instead of a transaction,
// and fall back to the transaction whenever the statement cannot stand in for it. These tests pin
// both halves: how many statements each write sends (the statements are recorded as the API sends
// them), and what happens when another write of the same owner holds the change clock meanwhile
// (the statement's snapshot is then stale: it must write nothing and let the transaction write,
// once) or holds it past the caller's deadline (nothing may be written after the 503).
import { expect } from 'chai';
import type { Interceptor } from 'slonik';
import { newUser, startTestApi, type TestApi, type TestUser } from '../support/api.ts';
import { testDatabaseUrl, throughPgBouncer, withSqlClient } from '../support/database.ts';
import { bearer } from '../support/tasks.ts';
import { feedPage, inTestDatabase } from '../support/versions.ts';

let api: TestApi;
let recording: string[] | undefined;

const recorder: Interceptor = {
  name: 'statement-recorder',
  beforeQueryExecution: (_context, query) => {
    recording?.push(query.sql.trim().split(/\s+/, 1)[0]!.toLowerCase());
    return null;
  },
};

/** What `work` returned, and the first word of every statement the API sent while it ran. */
async function recorded<T>(work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  recording = [];
  try {
    const result = await work();
    return { result, statements: recording };
  } finally {
    recording = undefined;
  }
}

const statementsOf = async (work: () => Promise<unknown>) => (await recorded(work)).statements;

/** A webhook of `user` that wants every task event (nothing delivers it here: no worker runs). */
const webhookFor = async (user: TestUser) => {
  const response = await api.http
    .post('/api/webhooks')
    .set(bearer(user))
    .send({ url: 'https://hooks.example.com/one-statement', events: ['task.created', 'task.updated', 'task.completed', 'task.deleted'] });
  expect(response.status, response.text).to.equal(201);
};

/** The events in the outbox for `user`'s webhooks, oldest first. */
const outbox = async (user: TestUser) =>
  inTestDatabase(`select event_type, payload->'data' as data from deliveries where owner_user_id = $1 order by created_at, id`, [user.id]);

const task = async (user: TestUser, body: Record<string, unknown> = { title: 'A task' }) => {
  const response = await api.http.post('/api/tasks').set(bearer(user)).send(body);
  expect(response.status, response.text).to.equal(201);
  return response.body as { id: string; title: string; position: string };
};

/**
 * Runs `request` while another transaction has advanced the owner's change clock and not committed:
 * the request's statement waits for the clock row until that write ends (`holdMs` later, with
 * `end`). Returns the request's response and the clock value the other write took.
 */
async function whileClockHeld<T>(
  user: TestUser,
  holdMs: number,
  request: () => Promise<T>,
  end: 'commit' | 'rollback' = 'commit',
): Promise<{ response: T; heldSeq: number }> {
  return withSqlClient(testDatabaseUrl(), async (other) => {
    await other.query('begin');
    const { rows } = await other.query(
      `insert into task_change_clocks (owner_user_id, last_seq) values ($1, 1)
       on conflict (owner_user_id) do update set last_seq = task_change_clocks.last_seq + 1 returning last_seq::int as seq`,
      [user.id],
    );
    const pending = request();
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    await other.query(end);
    return { response: await pending, heldSeq: rows[0].seq as number };
  });
}

before(async () => {
  // Through PgBouncer 1.18 a lost named statement is sent again, unnamed (prepared-statements.ts),
  // which the recorder would count twice: there, statements are unnamed from the start.
  api = await startTestApi({ interceptors: [recorder], preparedStatements: !throughPgBouncer });
});

after(async () => {
  await api?.close();
});

describe('createTask in one statement', () => {
  it('sends a read and one write, no transaction, for a new task in the inbox', async () => {
    const user = await newUser();
    await task(user);
    expect(await statementsOf(() => task(user, { title: 'Second' }))).to.deep.equal(['select', 'with']);
  });

  it('sends a read and one write, no transaction, for a new task at the top of a list, placed above the first', async () => {
    const user = await newUser();
    const list = await api.http.post('/api/lists').set(bearer(user)).send({ name: 'Errands' });
    expect(list.status, list.text).to.equal(201);
    const first = await task(user, { title: 'First', list_id: list.body.id });
    const { result, statements } = await recorded(() => api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Second', list_id: list.body.id }));

    expect(result.status, result.text).to.equal(201);
    expect(statements).to.deep.equal(['select', 'with']);
    const listed = await api.http.get(`/api/tasks?list_id=${list.body.id}&parent_id=none&sort=position`).set(bearer(user));
    expect(listed.body.map((row: { id: string }) => row.id)).to.deep.equal([result.body.id, first.id]);
  });

  it('puts the task.created event in the outbox from the same statement, with the response as its data', async () => {
    const user = await newUser();
    await webhookFor(user);
    const { result, statements } = await recorded(() => api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Told', tags: ['a'] }));

    expect(result.status, result.text).to.equal(201);
    expect(statements).to.deep.equal(['select', 'with']);
    expect(await outbox(user)).to.deep.equal([{ event_type: 'task.created', data: result.body }]);
  });

  it('falls back to the transaction when another write of the owner commits between its read and its write, and creates the task once', async () => {
    const user = await newUser();
    await task(user);
    const { response, heldSeq } = await whileClockHeld(user, 300, () => recorded(() => api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Raced' })));

    expect(response.result.status, response.result.text).to.equal(201);
    // The one-statement write first, then the transaction (which starts with SET LOCAL).
    expect(response.statements.slice(0, 3)).to.deep.equal(['select', 'with', 'set']);
    const rows = await inTestDatabase(`select change_seq::int as seq from tasks where owner_user_id = $1 and title = 'Raced'`, [user.id]);
    expect(rows).to.have.length(1);
    expect(rows[0]!.seq).to.be.greaterThan(heldSeq);
  });
});

describe('updateTask in one statement', () => {
  it('sends one statement, no transaction, for a change of its text or completion', async () => {
    const user = await newUser();
    const { id } = await task(user);
    expect(await statementsOf(() => api.http.patch(`/api/tasks/${id}`).set(bearer(user)).send({ title: 'Renamed', completed: true }))).to.deep.equal([
      'with',
    ]);
  });

  it('puts task.updated in the outbox from the same statement, with the response as its data', async () => {
    const user = await newUser();
    const { id } = await task(user, { title: 'Told', due_at: '2030-01-01T09:00:00.000Z' });
    await webhookFor(user);
    const { result, statements } = await recorded(() => api.http.patch(`/api/tasks/${id}`).set(bearer(user)).send({ title: 'Told twice' }));

    expect(result.status, result.text).to.equal(200);
    expect(statements).to.deep.equal(['with']);
    expect(await outbox(user)).to.deep.equal([{ event_type: 'task.updated', data: result.body }]);
  });

  it('falls back to the transaction when another write of the owner commits while it waits, and writes once, after it', async () => {
    const user = await newUser();
    const { id } = await task(user);
    const { response, heldSeq } = await whileClockHeld(user, 300, () =>
      recorded(() => api.http.patch(`/api/tasks/${id}`).set(bearer(user)).send({ title: 'Raced' })),
    );

    expect(response.result.status, response.result.text).to.equal(200);
    expect(response.result.body.title).to.equal('Raced');
    expect(Number(String(response.result.headers.etag).slice(1, -1))).to.be.greaterThan(heldSeq);
    expect(response.statements.slice(0, 2)).to.deep.equal(['with', 'set']);
    const feed = await feedPage(api, user);
    expect(feed.changes.map((change) => (change.deleted ? 'deleted' : change.task.title))).to.deep.equal(['Raced']);
  });

  it('writes nothing when it obtains the clock only after its caller was answered 503', async function () {
    // The clock is held past the 5 s database deadline by a write that then rolls back, so the
    // statement's snapshot is still current when it gets the clock: only the deadline stops it.
    this.timeout(20_000);
    const user = await newUser();
    const { id } = await task(user, { title: 'Before' });
    const { response } = await whileClockHeld(
      user,
      6_000,
      async () => api.http.patch(`/api/tasks/${id}`).set(bearer(user)).send({ title: 'Too late' }),
      'rollback',
    );
    expect(response.status, response.text).to.equal(503);
    // The abandoned statement runs once the clock is free; give it time to.
    await new Promise((resolve) => setTimeout(resolve, 500));

    const rows = await inTestDatabase(`select title from tasks where owner_user_id = $1 and id = $2`, [user.id, id]);
    expect(rows).to.deep.equal([{ title: 'Before' }]);
  });
});

describe('completeTask in one statement', () => {
  it('puts task.completed in the outbox from the same statement, with the response as its data', async () => {
    const user = await newUser();
    const { id } = await task(user, { title: 'Told', due_at: '2030-01-01T09:00:00.000Z' });
    await webhookFor(user);
    const { result, statements } = await recorded(() => api.http.patch(`/api/tasks/${id}/complete`).set(bearer(user)));

    expect(result.status, result.text).to.equal(200);
    expect(statements).to.deep.equal(['with']);
    expect(await outbox(user)).to.deep.equal([{ event_type: 'task.completed', data: result.body }]);
  });

  it('cancels a task\'s pending reminders when it completes it, and lets them fire again when it reopens it, in one statement each', async () => {
    const user = await newUser();
    const { id } = await task(user, { title: 'Reminded', due_at: '2999-01-01T09:00:00.000Z', reminders: [{ before_due: 'PT1H' }] });
    const due = async () =>
      (await api.http.get('/api/reminders/due?until=2999-12-31T00%3A00%3A00Z').set(bearer(user))).body.map((row: { fire_at: string }) => row.fire_at);
    expect(await due()).to.deep.equal(['2999-01-01T08:00:00.000Z']);

    const completed = await recorded(() => api.http.patch(`/api/tasks/${id}/complete`).set(bearer(user)));
    const whileCompleted = await due();
    const reopened = await recorded(() => api.http.patch(`/api/tasks/${id}/complete`).set(bearer(user)));

    expect([completed.statements, reopened.statements]).to.deep.equal([['with'], ['with']]);
    expect(completed.result.body.reminders).to.deep.equal(reopened.result.body.reminders);
    expect(whileCompleted).to.deep.equal([]);
    expect(await due()).to.deep.equal(['2999-01-01T08:00:00.000Z']);
  });

  it('sends one statement, no transaction, for a task that does not recur', async () => {
    const user = await newUser();
    const { id } = await task(user);
    expect(await statementsOf(() => api.http.patch(`/api/tasks/${id}/complete`).set(bearer(user)))).to.deep.equal(['with']);
  });

  it('falls back to the transaction when another write of the owner commits while it waits, and records the completion once', async () => {
    const user = await newUser();
    const { id } = await task(user);
    const { response } = await whileClockHeld(user, 300, async () => api.http.patch(`/api/tasks/${id}/complete`).set(bearer(user)));

    expect(response.status, response.text).to.equal(200);
    expect(response.body.status).to.equal('completed');
    const completions = await api.http.get(`/api/tasks/${id}/completions`).set(bearer(user));
    expect(completions.status).to.equal(200);
    expect(completions.body).to.have.length(1);
  });
});

describe('deleteTask in one statement', () => {
  it('puts a task.deleted event for the task and each subtask in the outbox from the same statement', async () => {
    const user = await newUser();
    const parent = await task(user, { title: 'Parent' });
    const child = await task(user, { title: 'Child', parent_id: parent.id });
    await webhookFor(user);
    const { result, statements } = await recorded(() => api.http.delete(`/api/tasks/${parent.id}`).set(bearer(user)));

    expect(result.status, result.text).to.equal(204);
    expect(statements).to.deep.equal(['with']);
    expect(await outbox(user)).to.have.deep.members([
      { event_type: 'task.deleted', data: { id: parent.id } },
      { event_type: 'task.deleted', data: { id: child.id } },
    ]);
  });

  it('sends one statement, no transaction, when there is no old tombstone to purge', async () => {
    const user = await newUser();
    const { id } = await task(user);
    expect(await statementsOf(() => api.http.delete(`/api/tasks/${id}`).set(bearer(user)))).to.deep.equal(['with']);
  });

  it('falls back to the transaction when another write of the owner commits while it waits, and leaves one tombstone', async () => {
    const user = await newUser();
    const { id } = await task(user);
    const { response } = await whileClockHeld(user, 300, async () => api.http.delete(`/api/tasks/${id}`).set(bearer(user)));

    expect(response.status, response.text).to.equal(204);
    const tombstones = await inTestDatabase(`select task_id::text as id from task_tombstones where owner_user_id = $1`, [user.id]);
    expect(tombstones).to.deep.equal([{ id }]);
  });
});

describe('moveTask in two statements', () => {
  const move = (user: TestUser, taskId: string, body: Record<string, unknown>) => api.http.post(`/api/tasks/${taskId}/move`).set(bearer(user)).send(body);

  /** Three tasks in the inbox, A, B and C from the top (each new task goes to the top). */
  const threeInOrder = async (user: TestUser) => {
    const c = await task(user, { title: 'C' });
    const b = await task(user, { title: 'B' });
    const a = await task(user, { title: 'A' });
    return { a, b, c };
  };

  /** The inbox's titles in manual order, having checked that no two tasks share a position. */
  const inboxOrder = async (user: TestUser) => {
    const rows = (await api.http.get('/api/tasks?list_id=inbox&parent_id=none&sort=position').set(bearer(user))).body as { title: string; position: string }[];
    expect(new Set(rows.map((row) => row.position)).size, 'distinct positions').to.equal(rows.length);
    return rows.map((row) => row.title);
  };

  it('sends a read and one write, no transaction, for a move between two neighbours, before one, and to the top', async () => {
    const user = await newUser();
    const d = await task(user, { title: 'D' });
    const { a, b, c } = await threeInOrder(user);

    const between = await recorded(() => move(user, a.id, { after_id: b.id }));
    expect(between.result.status, between.result.text).to.equal(200);
    expect(await inboxOrder(user)).to.deep.equal(['B', 'A', 'C', 'D']);
    const before = await recorded(() => move(user, d.id, { before_id: c.id }));
    expect(await inboxOrder(user)).to.deep.equal(['B', 'A', 'D', 'C']);
    const top = await recorded(() => move(user, c.id, {}));
    expect(await inboxOrder(user)).to.deep.equal(['C', 'B', 'A', 'D']);

    expect([between.statements, before.statements, top.statements]).to.deep.equal([
      ['with', 'with'],
      ['with', 'with'],
      ['with', 'with'],
    ]);
  });

  it('puts task.updated in the outbox from the write, with the response as its data', async () => {
    const user = await newUser();
    const { a, b } = await threeInOrder(user);
    await webhookFor(user);
    const { result, statements } = await recorded(() => move(user, a.id, { after_id: b.id }));

    expect(result.status, result.text).to.equal(200);
    expect(statements).to.deep.equal(['with', 'with']);
    expect(await outbox(user)).to.deep.equal([{ event_type: 'task.updated', data: result.body }]);
  });

  it('falls back to the transaction when another write of the owner commits between its read and its write, and moves the task once, after it', async () => {
    const user = await newUser();
    const { a, b } = await threeInOrder(user);
    await webhookFor(user);
    const { response, heldSeq } = await whileClockHeld(user, 300, () => recorded(() => move(user, a.id, { after_id: b.id })));

    expect(response.result.status, response.result.text).to.equal(200);
    expect(Number(String(response.result.headers.etag).slice(1, -1))).to.be.greaterThan(heldSeq);
    // The read, the one-statement write (which wrote nothing but the clock tick), then the transaction.
    expect(response.statements.slice(0, 3)).to.deep.equal(['with', 'with', 'set']);
    expect(await inboxOrder(user)).to.deep.equal(['B', 'A', 'C']);
    expect(await outbox(user)).to.deep.equal([{ event_type: 'task.updated', data: response.result.body }]);
  });

  it('writes nothing when it obtains the clock only after its caller was answered 503', async function () {
    // The clock is held past the 5 s database deadline by a write that then rolls back, so the
    // clock the move read is still current when its write gets the clock: only the deadline stops it.
    this.timeout(20_000);
    const user = await newUser();
    const { a, b } = await threeInOrder(user);
    const { response } = await whileClockHeld(user, 6_000, async () => move(user, a.id, { after_id: b.id }), 'rollback');
    expect(response.status, response.text).to.equal(503);
    // The abandoned statement runs once the clock is free; give it time to.
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(await inboxOrder(user)).to.deep.equal(['A', 'B', 'C']);
    const rows = await inTestDatabase(`select position from tasks where owner_user_id = $1 and id = $2`, [user.id, a.id]);
    expect(rows).to.deep.equal([{ position: a.position }]);
  });

  it('falls back to the transaction, without writing first, for a key that needs the siblings around it renumbered', async function () {
    this.timeout(60_000);
    const user = await newUser();
    const right = await task(user, { title: 'Right' });
    const left = await task(user, { title: 'Left' });
    const x = await task(user, { title: 'X' });
    const y = await task(user, { title: 'Y' });
    const positionOfRight = async () =>
      (await inTestDatabase(`select position from tasks where owner_user_id = $1 and id = $2`, [user.id, right.id]))[0]!.position;
    const kinds = { plain: 0, renumbering: 0 };
    // X and Y take turns right after Left: each key halves the same gap, until one is too long.
    for (let step = 0; step < 150 && kinds.renumbering === 0; step += 1) {
      const before = await positionOfRight();
      const { result, statements } = await recorded(() => move(user, (step % 2 === 0 ? x : y).id, { after_id: left.id }));
      expect(result.status, result.text).to.equal(200);
      if ((await positionOfRight()) === before) {
        expect(statements, `move ${step}`).to.deep.equal(['with', 'with']);
        kinds.plain += 1;
      } else {
        // The read, then straight to the transaction: no one-statement write, no clock tick for it.
        expect(statements.slice(0, 2), `move ${step}`).to.deep.equal(['with', 'set']);
        expect(statements.filter((statement) => statement === 'with')).to.have.length(1);
        kinds.renumbering += 1;
      }
    }
    expect(kinds.renumbering).to.equal(1);
    expect(kinds.plain).to.be.at.least(10);
  });

  it('falls back to the transaction for a move to another list, carrying its subtasks along', async () => {
    const user = await newUser();
    const list = await api.http.post('/api/lists').set(bearer(user)).send({ name: 'Elsewhere' });
    expect(list.status, list.text).to.equal(201);
    const parent = await task(user, { title: 'Parent' });
    const child = await task(user, { title: 'Child', parent_id: parent.id });
    const { result, statements } = await recorded(() => move(user, parent.id, { list_id: list.body.id }));

    expect(result.status, result.text).to.equal(200);
    expect(result.body.list_id).to.equal(list.body.id);
    expect(statements.slice(0, 2)).to.deep.equal(['with', 'set']);
    expect(statements.filter((statement) => statement === 'with')).to.have.length(1);
    const moved = await api.http.get(`/api/tasks/${child.id}`).set(bearer(user));
    expect(moved.body.list_id).to.equal(list.body.id);
  });
});
