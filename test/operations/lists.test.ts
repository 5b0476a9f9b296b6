// The Lists operations through HTTP on real PostgreSQL: each test makes its own users, asserts
// whole responses, and checks that another user's list is indistinguishable from a missing one.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Response } from 'supertest';
import type { List, Task } from '../../src/contract.ts';
import { newUser, sharedApi, type TestApi, type TestUser } from '../support/api.ts';
import {
  bearer,
  createTaskAs,
  expectContractViolation,
  expectProblem,
  expectTimestamp,
  jsonContentType,
  listAllTasksAs,
  positionPattern,
  uuidPattern,
} from '../support/tasks.ts';


async function createListAs(api: TestApi, user: TestUser, body: Record<string, unknown>): Promise<List> {
  const response = await api.http.post('/api/lists').set(bearer(user)).send(body);
  expect(response.status, response.text).to.equal(201);
  return response.body as List;
}

async function listsOf(api: TestApi, user: TestUser): Promise<List[]> {
  const response = await api.http.get('/api/lists').set(bearer(user));
  expect(response.status, response.text).to.equal(200);
  return response.body as List[];
}

/** Asserts a whole list. */
function expectList(actual: unknown, expected: { name: string; color: List['color']; id?: string }): List {
  const list = actual as List;
  expect(Object.keys(list).sort()).to.deep.equal(['color', 'created_at', 'id', 'name', 'position', 'updated_at']);
  expect(list.id).to.match(uuidPattern);
  if (expected.id) expect(list.id).to.equal(expected.id);
  expect(list.name).to.equal(expected.name);
  expect(list.color).to.equal(expected.color);
  expect(list.position).to.match(positionPattern);
  expectTimestamp(list.created_at);
  expectTimestamp(list.updated_at);
  return list;
}

const expectListNotFound = (response: Response, instance: string) => expectProblem(response, { type: 'list-not-found', instance });

describe('listLists', () => {
  it("returns the caller's lists in manual order (the newest at the top), and none of another user's", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const first = await createListAs(api, user, { name: 'Work' });
    const second = await createListAs(api, user, { name: 'Home', color: 'green' });
    await createListAs(api, await newUser(), { name: 'Not yours' });

    const response = await api.http.get('/api/lists').set(bearer(user));

    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.equal(jsonContentType);
    expect(response.body).to.deep.equal([second, first]);
  });

  it('returns an empty array for a user with no lists', async () => {
    const api = await sharedApi();
    expect(await listsOf(api, await newUser())).to.deep.equal([]);
  });
});

describe('createList', () => {
  it('creates a list with 201, Location and ETag, the name trimmed and the colour kept', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.post('/api/lists').set(bearer(user)).send({ name: '  Groceries  ', color: 'teal' });

    expect(response.status, response.text).to.equal(201);
    const list = expectList(response.body, { name: 'Groceries', color: 'teal' });
    expect(response.headers.location).to.equal(`/api/lists/${list.id}`);
    expect(response.headers.etag).to.match(/^"[0-9]+"$/);
    expect(list.created_at).to.equal(list.updated_at);
  });

  it('returns 409 for a name another of the caller\'s lists has, ignoring case and surrounding spaces', async () => {
    const api = await sharedApi();
    const user = await newUser();
    await createListAs(api, user, { name: 'Groceries' });

    const response = await api.http.post('/api/lists').set(bearer(user)).send({ name: ' GROCERIES ' });

    expectProblem(response, { type: 'list-name-taken', instance: '/api/lists' });
    expect(await listsOf(api, user)).to.have.length(1);
  });

  it("allows a name that another user's list has", async () => {
    const api = await sharedApi();
    await createListAs(api, await newUser(), { name: 'Shared name' });
    const user = await newUser();
    expectList(await createListAs(api, user, { name: 'Shared name' }), { name: 'Shared name', color: null });
  });

  it('returns 422 from the contract for a blank, too long or unknown-field body, and for a colour off the palette', async () => {
    const api = await sharedApi();
    const user = await newUser();
    for (const body of [{ name: '   ' }, { name: 'x'.repeat(101) }, { name: 'ok', colour: 'red' }, { name: 'ok', color: 'mauve' }, {}]) {
      const response = await api.http.post('/api/lists').set(bearer(user)).send(body);
      expect(response.status, JSON.stringify(body)).to.equal(422);
      expect(response.body.type).to.equal('/problems/validation-failed');
      expect(response.body.errors).to.be.an('array').that.is.not.empty;
    }
    expect(await listsOf(api, user)).to.deep.equal([]);
  });

  it('returns 422 past 500 lists per user, and creates the 500th', async function () {
    this.timeout(120_000);
    const api = await sharedApi();
    const user = await newUser();
    // 499 straight into the table (the API's own rule is what is under test, not 499 requests).
    await api.pool.query(
      (await import('slonik')).sql.unsafe`
        insert into lists (owner_user_id, name, position, change_seq)
        select ${user.id}, 'List ' || n, 'b' || lpad(n::text, 2, '0'), 1 from generate_series(10, 508) as n`,
    );
    await createListAs(api, user, { name: 'The 500th' });

    const response = await api.http.post('/api/lists').set(bearer(user)).send({ name: 'One too many' });

    expectProblem(response, {
      type: 'too-many-lists',
      instance: '/api/lists',
      errors: [{ path: '/body', keyword: 'too_many' }],
    });
    expect(await listsOf(api, user)).to.have.length(500);
  });

  it('replays the response for a repeated Idempotency-Key and creates one list', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const send = () => api.http.post('/api/lists').set(bearer(user)).set('Idempotency-Key', 'list-once').send({ name: 'Once' });

    const first = await send();
    const again = await send();

    expect(first.status).to.equal(201);
    expect([again.status, again.body, again.headers.location, again.headers.etag]).to.deep.equal([
      201,
      first.body,
      first.headers.location,
      first.headers.etag,
    ]);
    expect(await listsOf(api, user)).to.deep.equal([first.body]);
  });
});

describe('getList', () => {
  it('returns the list with its ETag, and 304 for If-None-Match with that ETag', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const created = await api.http.post('/api/lists').set(bearer(user)).send({ name: 'Read' });

    const response = await api.http.get(`/api/lists/${created.body.id}`).set(bearer(user));
    const notModified = await api.http.get(`/api/lists/${created.body.id}`).set(bearer(user)).set('If-None-Match', created.headers.etag!);

    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal(created.body);
    expect(response.headers.etag).to.equal(created.headers.etag);
    expect([notModified.status, notModified.text]).to.deep.equal([304, '']);
  });

  it("returns 404 for another user's list exactly as for one that does not exist", async () => {
    const api = await sharedApi();
    const theirs = await createListAs(api, await newUser(), { name: 'Theirs' });
    const user = await newUser();
    for (const id of [theirs.id, randomUUID()]) {
      expectListNotFound(await api.http.get(`/api/lists/${id}`).set(bearer(user)), `/api/lists/${id}`);
    }
  });

  it('returns 422 for a list id that is not a UUID', async () => {
    const api = await sharedApi();
    const response = await api.http.get('/api/lists/not-a-uuid').set(bearer(await newUser()));
    expectContractViolation(response, '/api/lists/not-a-uuid', [{ path: '/params/list_id', keyword: 'invalid_format' }]);
  });
});

describe('updateList', () => {
  it('changes only the fields sent, moves updated_at and the ETag', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const created = await api.http.post('/api/lists').set(bearer(user)).send({ name: 'Before', color: 'red' });

    const response = await api.http.patch(`/api/lists/${created.body.id}`).set(bearer(user)).send({ name: ' After ' });

    expect(response.status, response.text).to.equal(200);
    expect(response.body).to.deep.equal({ ...created.body, name: 'After', updated_at: response.body.updated_at });
    expect(response.headers.etag).to.not.equal(created.headers.etag);
    const cleared = await api.http.patch(`/api/lists/${created.body.id}`).set(bearer(user)).send({ color: null });
    expect(cleared.body.color).to.equal(null);
  });

  it('returns 409 when renaming to the name of another of the caller\'s lists, and accepts a change of case of its own name', async () => {
    const api = await sharedApi();
    const user = await newUser();
    await createListAs(api, user, { name: 'Taken' });
    const mine = await createListAs(api, user, { name: 'Mine' });

    expectProblem(await api.http.patch(`/api/lists/${mine.id}`).set(bearer(user)).send({ name: 'taken' }), {
      type: 'list-name-taken',
      instance: `/api/lists/${mine.id}`,
    });
    const recased = await api.http.patch(`/api/lists/${mine.id}`).set(bearer(user)).send({ name: 'MINE' });
    expect(recased.status).to.equal(200);
  });

  it('returns 412 for a stale If-Match and writes nothing; writes with the current ETag', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const created = await api.http.post('/api/lists').set(bearer(user)).send({ name: 'Guarded' });
    const path = `/api/lists/${created.body.id}`;
    await api.http.patch(path).set(bearer(user)).send({ color: 'blue' });

    const stale = await api.http.patch(path).set(bearer(user)).set('If-Match', created.headers.etag!).send({ name: 'Lost' });

    expectProblem(stale, { type: 'list-changed', instance: path });
    const current = await api.http.get(path).set(bearer(user));
    expect(current.body.name).to.equal('Guarded');
    const fresh = await api.http.patch(path).set(bearer(user)).set('If-Match', current.headers.etag!).send({ name: 'Kept' });
    expect(fresh.status).to.equal(200);
  });

  it("returns 404 for another user's list and leaves it as it was", async () => {
    const api = await sharedApi();
    const owner = await newUser();
    const theirs = await createListAs(api, owner, { name: 'Theirs' });
    const response = await api.http.patch(`/api/lists/${theirs.id}`).set(bearer(await newUser())).send({ name: 'Mine now' });
    expectListNotFound(response, `/api/lists/${theirs.id}`);
    expect(await listsOf(api, owner)).to.deep.equal([theirs]);
  });

  it('returns 422 for an empty body', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const list = await createListAs(api, user, { name: 'Empty patch' });
    const response = await api.http.patch(`/api/lists/${list.id}`).set(bearer(user)).send({});
    expectContractViolation(response, `/api/lists/${list.id}`, [{ path: '/body', keyword: 'empty' }]);
  });
});

describe('deleteList', () => {
  it('deletes the list and every task in it (subtasks too) in one go, leaving the inbox and other lists alone', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const doomed = await createListAs(api, user, { name: 'Doomed' });
    const kept = await createListAs(api, user, { name: 'Kept' });
    const parent = await createTaskAs(api, user, { title: 'Parent', list_id: doomed.id });
    await createTaskAs(api, user, { title: 'Child', parent_id: parent.id });
    const inKept = await createTaskAs(api, user, { title: 'Elsewhere', list_id: kept.id });
    const inInbox = await createTaskAs(api, user, { title: 'Inbox' });

    const response = await api.http.delete(`/api/lists/${doomed.id}`).set(bearer(user));

    expect([response.status, response.text]).to.deep.equal([204, '']);
    expect(await listsOf(api, user)).to.deep.equal([kept]);
    expect((await listAllTasksAs(api, user)).map((task) => task.id).sort()).to.deep.equal([inKept.id, inInbox.id].sort());
  });

  it("takes its tasks' completion history with them: nothing of theirs stays in GET /api/completions", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const doomed = await createListAs(api, user, { name: 'Doomed' });
    const inList = await createTaskAs(api, user, { title: 'Done in the list', list_id: doomed.id });
    const inInbox = await createTaskAs(api, user, { title: 'Done in the inbox' });
    for (const task of [inList, inInbox]) expect((await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user))).status).to.equal(200);

    expect((await api.http.delete(`/api/lists/${doomed.id}`).set(bearer(user))).status).to.equal(204);

    const history = await api.http.get('/api/completions').set(bearer(user));
    expect(history.status).to.equal(200);
    expect(history.body.map((completion: { task_id: string }) => completion.task_id)).to.deep.equal([inInbox.id]);
  });

  it("cancels the pending reminders of every task it deletes, subtasks included, and keeps those of tasks it hands on", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const doomed = await createListAs(api, user, { name: 'Doomed' });
    const spared = await createListAs(api, user, { name: 'Spared' });
    const kept = await createListAs(api, user, { name: 'Kept' });
    const dueAt = '2999-01-01T09:00:00.000Z';
    const reminders = [{ before_due: 'PT15M' }];
    const parent = await createTaskAs(api, user, { title: 'Parent', list_id: doomed.id, due_at: dueAt, reminders });
    await createTaskAs(api, user, { title: 'Child', parent_id: parent.id, due_at: dueAt, reminders });
    const handedOn = await createTaskAs(api, user, { title: 'Handed on', list_id: spared.id, due_at: dueAt, reminders });
    const due = async () =>
      ((await api.http.get('/api/reminders/due').query({ until: '2999-12-31T00:00:00.000Z' }).set(bearer(user))).body as { task: { id: string } }[]).map(
        (reminder) => reminder.task.id,
      );
    expect(await due()).to.have.length(3);

    expect((await api.http.delete(`/api/lists/${doomed.id}`).set(bearer(user))).status).to.equal(204);
    expect((await api.http.delete(`/api/lists/${spared.id}?move_tasks_to=${kept.id}`).set(bearer(user))).status).to.equal(204);

    expect(await due()).to.deep.equal([handedOn.id]);
  });

  it('moves the tasks to another list with move_tasks_to, below the tasks already there, in their order, subtasks under their parents', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const from = await createListAs(api, user, { name: 'From' });
    const to = await createListAs(api, user, { name: 'To' });
    const resident = await createTaskAs(api, user, { title: 'Resident', list_id: to.id });
    const older = await createTaskAs(api, user, { title: 'Older', list_id: from.id });
    const newer = await createTaskAs(api, user, { title: 'Newer', list_id: from.id });
    const child = await createTaskAs(api, user, { title: 'Child', parent_id: older.id });

    const response = await api.http.delete(`/api/lists/${from.id}?move_tasks_to=${to.id}`).set(bearer(user));

    expect(response.status, response.text).to.equal(204);
    const ordered = await api.http.get(`/api/tasks?list_id=${to.id}&parent_id=none&sort=position`).set(bearer(user));
    expect(ordered.body.map((task: Task) => task.title)).to.deep.equal(['Resident', 'Newer', 'Older']);
    expect(ordered.body[0]).to.deep.equal(resident);
    expect(newer.position < older.position).to.equal(true);
    const children = await api.http.get(`/api/tasks?parent_id=${older.id}&sort=position`).set(bearer(user));
    expect(children.body.map((task: Task) => [task.id, task.list_id, task.parent_id])).to.deep.equal([[child.id, to.id, older.id]]);
  });

  it('moves the tasks to the inbox with move_tasks_to=inbox', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const list = await createListAs(api, user, { name: 'Emptied' });
    const task = await createTaskAs(api, user, { title: 'Rescued', list_id: list.id });

    expect((await api.http.delete(`/api/lists/${list.id}?move_tasks_to=inbox`).set(bearer(user))).status).to.equal(204);

    const [rescued] = await listAllTasksAs(api, user);
    expect([rescued!.id, rescued!.list_id]).to.deep.equal([task.id, null]);
  });

  it("returns 422 for move_tasks_to naming the list itself, another user's list or none at all, and deletes nothing", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const list = await createListAs(api, user, { name: 'Stays' });
    await createTaskAs(api, user, { title: 'Stays too', list_id: list.id });
    const theirs = await createListAs(api, await newUser(), { name: 'Theirs' });
    for (const target of [list.id, theirs.id, randomUUID()]) {
      const path = `/api/lists/${list.id}`;
      const response = await api.http.delete(`${path}?move_tasks_to=${target}`).set(bearer(user));
      expectProblem(response, {
        type: 'move-tasks-to-invalid',
        instance: path,
        errors: [{ path: '/query/move_tasks_to', keyword: 'unknown' }],
      });
    }
    expect(await listsOf(api, user)).to.deep.equal([list]);
    expect(await listAllTasksAs(api, user)).to.have.length(1);
  });

  it('returns 412 for a stale If-Match and deletes neither the list nor its tasks', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const created = await api.http.post('/api/lists').set(bearer(user)).send({ name: 'Guarded' });
    await createTaskAs(api, user, { title: 'Guarded task', list_id: created.body.id });
    await api.http.patch(`/api/lists/${created.body.id}`).set(bearer(user)).send({ color: 'red' });

    const response = await api.http.delete(`/api/lists/${created.body.id}`).set(bearer(user)).set('If-Match', created.headers.etag!);

    expectProblem(response, {
      type: 'list-changed',
      instance: `/api/lists/${created.body.id}`,
    });
    expect(await listsOf(api, user)).to.have.length(1);
    expect(await listAllTasksAs(api, user)).to.have.length(1);
  });

  it("returns 404 for another user's list and for a missing one, deleting nothing", async () => {
    const api = await sharedApi();
    const owner = await newUser();
    const theirs = await createListAs(api, owner, { name: 'Theirs' });
    await createTaskAs(api, owner, { title: 'Their task', list_id: theirs.id });
    const user = await newUser();
    for (const id of [theirs.id, randomUUID()]) {
      expectListNotFound(await api.http.delete(`/api/lists/${id}`).set(bearer(user)), `/api/lists/${id}`);
    }
    expect(await listsOf(api, owner)).to.deep.equal([theirs]);
    expect(await listAllTasksAs(api, owner)).to.have.length(1);
  });
});

describe('moveList', () => {
  it('places a list after another, before another, or at the top, rewriting only the moved list', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const c = await createListAs(api, user, { name: 'C' });
    const b = await createListAs(api, user, { name: 'B' });
    const a = await createListAs(api, user, { name: 'A' });
    const names = async () => (await listsOf(api, user)).map((list) => list.name);
    expect(await names()).to.deep.equal(['A', 'B', 'C']);

    const after = await api.http.post(`/api/lists/${a.id}/move`).set(bearer(user)).send({ after_id: c.id });
    expect(after.status, after.text).to.equal(200);
    expect(after.body).to.deep.equal({ ...a, position: after.body.position, updated_at: after.body.updated_at });
    expect(await names()).to.deep.equal(['B', 'C', 'A']);
    // The others kept their positions: a move writes one row.
    const lists = await listsOf(api, user);
    expect(lists.find((list) => list.id === b.id)).to.deep.equal(b);
    expect(lists.find((list) => list.id === c.id)).to.deep.equal(c);

    await api.http.post(`/api/lists/${a.id}/move`).set(bearer(user)).send({ before_id: c.id });
    expect(await names()).to.deep.equal(['B', 'A', 'C']);
    await api.http.post(`/api/lists/${c.id}/move`).set(bearer(user)).send({});
    expect(await names()).to.deep.equal(['C', 'B', 'A']);
  });

  it("returns 422 when the neighbour is another user's list, a missing one or the list itself", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const mine = await createListAs(api, user, { name: 'Mine' });
    const theirs = await createListAs(api, await newUser(), { name: 'Theirs' });
    for (const [field, id] of [['after_id', theirs.id], ['before_id', randomUUID()], ['after_id', mine.id]] as const) {
      const response = await api.http.post(`/api/lists/${mine.id}/move`).set(bearer(user)).send({ [field]: id });
      expectProblem(response, {
        type: 'neighbour-not-sibling',
        instance: `/api/lists/${mine.id}/move`,
        errors: [{ path: `/body/${field}`, keyword: 'invalid' }],
      });
    }
  });

  it("returns 404 for another user's list", async () => {
    const api = await sharedApi();
    const theirs = await createListAs(api, await newUser(), { name: 'Theirs' });
    const response = await api.http.post(`/api/lists/${theirs.id}/move`).set(bearer(await newUser())).send({});
    expectListNotFound(response, `/api/lists/${theirs.id}/move`);
  });

  it('returns 422 from the contract when both after_id and before_id are sent', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const list = await createListAs(api, user, { name: 'Both' });
    const response = await api.http.post(`/api/lists/${list.id}/move`).set(bearer(user)).send({ after_id: randomUUID(), before_id: randomUUID() });
    expect(response.status).to.equal(422);
    expect(response.body.errors[0].path).to.equal('/body');
  });

  it('keeps positions short under many moves into the same gap, renumbering when needed', async function () {
    this.timeout(120_000);
    const api = await sharedApi();
    const user = await newUser();
    const right = await createListAs(api, user, { name: 'Right' });
    const left = await createListAs(api, user, { name: 'Left' });
    const x = await createListAs(api, user, { name: 'X' });
    const y = await createListAs(api, user, { name: 'Y' });
    // Alternately drop X and Y right after Left: each lands between Left and the other one.
    for (let move = 0; move < 120; move += 1) {
      const moved = move % 2 === 0 ? x : y;
      const response = await api.http.post(`/api/lists/${moved.id}/move`).set(bearer(user)).send({ after_id: left.id });
      expect(response.status, response.text).to.equal(200);
      expect(response.body.position.length).to.be.at.most(25);
    }
    const lists = await listsOf(api, user);
    expect(lists.map((list) => list.name)).to.deep.equal(['Left', 'Y', 'X', 'Right']);
    expect(new Set(lists.map((list) => list.position)).size).to.equal(4);
    expect(right.position).to.match(positionPattern);
  });
});
