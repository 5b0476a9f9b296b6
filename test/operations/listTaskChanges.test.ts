// GET /api/tasks/changes: every task created or updated (once, current state) and every deletion
// (a tombstone) since a position, oldest first, paginated; 410 once the position is older than the
// 30 days of tombstones; 422 for positions the server did not issue; never another user's changes.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { newUser, sharedApi, type TestApi, type TestUser } from '../support/api.ts';
import {
  bearer,
  createTaskAs,
  expectContractViolation,
  expectProblem,
  expectTask,
  expectTimestamp,
  listAllTasksAs,
  readTaskAs,
} from '../support/tasks.ts';
import { testDatabaseUrl, withSqlClient } from '../support/database.ts';
import { feedPage, forgedPosition, inTestDatabase, readFeedToEnd, type FeedChange } from '../support/versions.ts';
import type { Task } from '../../src/contract.ts';

const notIssuedErrors = [{ path: '/query/since', keyword: 'invalid' }] as const;

const upserted = (task: Task): FeedChange => ({ id: task.id, deleted: false, task });

/** Replays feed changes onto a map of tasks, as a syncing client would. */
function applyChanges(state: Map<string, Task>, changes: readonly FeedChange[]): Map<string, Task> {
  for (const change of changes) {
    if (change.deleted) state.delete(change.id);
    else state.set(change.id, change.task);
  }
  return state;
}

async function deleteAs(api: TestApi, user: TestUser, taskId: string): Promise<void> {
  const response = await api.http.delete(`/api/tasks/${taskId}`).set(bearer(user));
  expect(response.status, response.text).to.equal(204);
}

describe('listTaskChanges', () => {
  it('returns every task from the beginning, oldest write first, when since is omitted', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const first = await createTaskAs(api, user, { title: 'First' });
    const second = await createTaskAs(api, user, { title: 'Second' });
    const renamed = (await api.http.patch(`/api/tasks/${first.id}`).set(bearer(user)).send({ title: 'First, renamed' })).body as Task;

    const page = await feedPage(api, user);

    expect(page.changes).to.deep.equal([upserted(second), upserted(renamed)]);
    expectTask(page.changes[1]!.deleted ? undefined : page.changes[1]!.task, { ...renamed });
    expect(page.has_more).to.equal(false);
    expect(page.next_since).to.be.a('string').and.match(/^[A-Za-z0-9_-]+$/);
  });

  it('returns nothing new from an up-to-date position, then exactly the writes and deletions made after it', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const kept = await createTaskAs(api, user, { title: 'Kept' });
    const doomed = await createTaskAs(api, user, { title: 'Doomed' });
    const untouched = await createTaskAs(api, user, { title: 'Untouched' });
    const { next_since: upToDate } = await feedPage(api, user);

    const nothing = await feedPage(api, user, { since: upToDate });
    const completed = (await api.http.patch(`/api/tasks/${kept.id}/complete`).set(bearer(user))).body as Task;
    const before = Date.now();
    await deleteAs(api, user, doomed.id);
    const after = Date.now();
    const added = await createTaskAs(api, user, { title: 'Added' });
    const page = await feedPage(api, user, { since: upToDate });

    expect(nothing).to.deep.equal({ changes: [], next_since: nothing.next_since, has_more: false });
    expect(page.changes).to.have.length(3);
    expect(page.changes[0]).to.deep.equal(upserted(completed));
    const tombstone = page.changes[1]!;
    expect(Object.keys(tombstone).sort()).to.deep.equal(['deleted', 'deleted_at', 'id']);
    expect(tombstone).to.include({ id: doomed.id, deleted: true });
    expectTimestamp(tombstone.deleted ? tombstone.deleted_at : undefined, { from: before, to: after });
    expect(page.changes[2]).to.deep.equal(upserted(added));
    expect(page.changes.map((change) => change.id)).to.not.include(untouched.id);
    expect(page.has_more).to.equal(false);
  });

  it('shows a task written several times once, in its latest state and at its latest place', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createTaskAs(api, user, { title: 'v1' });
    const other = await createTaskAs(api, user, { title: 'Other' });
    await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'v2' });
    const latest = (await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'v3' })).body as Task;

    const page = await feedPage(api, user);

    expect(page.changes).to.deep.equal([upserted(other), upserted(latest)]);
  });

  it('pages with limit and has_more, and the pages together are the whole feed in write order, without gaps or repeats', async () => {
    const api = await sharedApi();
    const user = await newUser();
    // More than nine writes, so positions cross from one digit to two (ordering must be numeric).
    const tasks = [];
    for (let index = 0; index < 11; index += 1) tasks.push(await createTaskAs(api, user, { title: `Task ${index}` }));
    await deleteAs(api, user, tasks[1]!.id);

    const first = await feedPage(api, user, { limit: 4 });
    const second = await feedPage(api, user, { limit: 4, since: first.next_since });
    const third = await feedPage(api, user, { limit: 4, since: second.next_since });
    const whole = await feedPage(api, user, { limit: 500 });

    expect([first.has_more, second.has_more, third.has_more]).to.deep.equal([true, true, false]);
    expect([first.changes.length, second.changes.length, third.changes.length]).to.deep.equal([4, 4, 3]);
    expect([...first.changes, ...second.changes, ...third.changes]).to.deep.equal(whole.changes);
    const expectedOrder = [...tasks.filter((_, index) => index !== 1).map((task) => task.id), tasks[1]!.id];
    expect(whole.changes.map((change) => change.id)).to.deep.equal(expectedOrder);
  });

  it('puts every deletion of clear-completed in the feed, each as a tombstone', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const done = [await createTaskAs(api, user, { title: 'a', completed: true }), await createTaskAs(api, user, { title: 'b', completed: true })];
    const open = await createTaskAs(api, user, { title: 'open' });
    const { next_since: since } = await feedPage(api, user);

    await api.http.post('/api/tasks/clear-completed').set(bearer(user));
    const first = await feedPage(api, user, { since, limit: 1 });
    const rest = await feedPage(api, user, { since: first.next_since, limit: 1 });

    const tombstones = [...first.changes, ...rest.changes];
    expect(tombstones.map((change) => [change.id, change.deleted])).to.have.deep.members(done.map((task) => [task.id, true]));
    expect(first.has_more).to.equal(true);
    expect(rest.has_more).to.equal(false);
    expect(tombstones.map((change) => change.id)).to.not.include(open.id);
  });

  it("never shows another user's tasks or deletions", async () => {
    const api = await sharedApi();
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const alices = await createTaskAs(api, alice, { title: "Alice's" });
    const { next_since: aliceSince } = await feedPage(api, alice);
    const bobs = await createTaskAs(api, bob, { title: "Bob's" });
    await createTaskAs(api, bob, { title: "Bob's done", completed: true });
    await deleteAs(api, bob, bobs.id);
    await api.http.post('/api/tasks/clear-completed').set(bearer(bob));

    const aliceFromStart = await feedPage(api, alice);
    const aliceSinceThen = await feedPage(api, alice, { since: aliceSince });

    expect(aliceFromStart.changes).to.deep.equal([upserted(alices)]);
    expect(aliceSinceThen.changes).to.deep.equal([]);
  });

  it('lets a client that syncs while others write concurrently end with exactly the server state', async function () {
    this.timeout(60_000);
    const api = await sharedApi();
    const user = await newUser();
    const seed = [];
    for (let index = 0; index < 6; index += 1) seed.push(await createTaskAs(api, user, { title: `Seed ${index}` }));
    const client = applyChanges(new Map(), (await readFeedToEnd(api, user)).changes);
    let since = (await feedPage(api, user)).next_since;
    let writing = true;

    // Concurrent writers: creates, updates and deletes in parallel, while the client keeps syncing.
    const writers = (async () => {
      const work = [];
      for (let round = 0; round < 4; round += 1) {
        work.push(createTaskAs(api, user, { title: `New ${round}` }));
        work.push(api.http.patch(`/api/tasks/${seed[round]!.id}`).set(bearer(user)).send({ title: `Edited ${round}` }).then(() => {}));
        work.push(api.http.patch(`/api/tasks/${seed[(round + 1) % 6]!.id}/complete`).set(bearer(user)).then(() => {}));
        if (round < 2) work.push(api.http.delete(`/api/tasks/${seed[4 + round]!.id}`).set(bearer(user)).then(() => {}));
      }
      await Promise.all(work);
      writing = false;
    })();
    for (let polls = 0; writing && polls < 200; polls += 1) {
      const synced = await readFeedToEnd(api, user, since, 2);
      applyChanges(client, synced.changes);
      since = synced.next_since;
    }
    await writers;
    applyChanges(client, (await readFeedToEnd(api, user, since, 2)).changes);

    const server = await listAllTasksAs(api, user);
    expect([...client.values()].sort((a, b) => a.id.localeCompare(b.id))).to.deep.equal(server.sort((a, b) => a.id.localeCompare(b.id)));
  });

  it('never lets a later write overtake one still in flight: the reader sees neither until the first commits', async () => {
    const api = await sharedApi();
    const user = await newUser();
    await createTaskAs(api, user, { title: 'Before' });
    const { next_since: since } = await feedPage(api, user);

    await withSqlClient(testDatabaseUrl(), async (slow) => {
      // A slow writer: it has taken the next change_seq and not committed yet.
      await slow.query('begin');
      const { rows } = await slow.query(
        'update task_change_clocks set last_seq = last_seq + 1 where owner_user_id = $1 returning last_seq::text as seq',
        [user.id],
      );
      await slow.query("insert into tasks (owner_user_id, title, change_seq, position) values ($1, 'Slow', $2, 'Zz')", [user.id, rows[0].seq]);
      // A fast writer through the API starts meanwhile; it must queue behind the slow one.
      const fast = api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Fast' }).then((response) => response);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const during = await feedPage(api, user, { since });
      await slow.query('commit');
      expect((await fast).status).to.equal(201);

      expect(during.changes).to.deep.equal([]);
    });
    const after = await feedPage(api, user, { since });
    expect(after.changes.map((change) => (change.deleted ? change.id : change.task.title))).to.deep.equal(['Slow', 'Fast']);
  });

  it('returns 410 for a position before a deletion that was purged after 30 days', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const old = await createTaskAs(api, user, { title: 'Deleted long ago' });
    const { next_since: before } = await feedPage(api, user);
    await deleteAs(api, user, old.id);
    await inTestDatabase(`update task_tombstones set deleted_at = now() - interval '31 days' where owner_user_id = $1`, [user.id]);
    const { next_since: afterDeletion } = await feedPage(api, user);
    const trigger = await createTaskAs(api, user, { title: 'Trigger' });
    await deleteAs(api, user, trigger.id); // purges tombstones older than 30 days

    const response = await api.http.get('/api/tasks/changes').query({ since: before }).set(bearer(user));
    const stillFine = await feedPage(api, user, { since: afterDeletion });
    const resync = await feedPage(api, user);

    expectProblem(response, { type: 'feed-position-expired', instance: '/api/tasks/changes' });
    expect(stillFine.changes.map((change) => [change.id, change.deleted])).to.deep.equal([
      [trigger.id, true],
    ]);
    expect(resync.changes.map((change) => change.id)).to.deep.equal([trigger.id]);
    expect(await inTestDatabase('select task_id from task_tombstones where owner_user_id = $1', [user.id])).to.deep.equal([
      { task_id: trigger.id },
    ]);
  });

  it('returns 410 for a position issued more than 30 days ago', async () => {
    const api = await sharedApi();
    const user = await newUser();
    await createTaskAs(api, user);
    const issued = JSON.parse(Buffer.from((await feedPage(api, user)).next_since, 'base64url').toString()) as Record<string, unknown>;
    const old = forgedPosition({ ...issued, t: Date.now() - 31 * 24 * 60 * 60 * 1000 });

    const response = await api.http.get('/api/tasks/changes').query({ since: old }).set(bearer(user));

    expectProblem(response, { type: 'feed-position-expired', instance: '/api/tasks/changes' });
  });

  for (const [label, since] of [
    ['not base64url JSON', 'definitely-not-a-token'],
    ['JSON of the wrong shape', forgedPosition({ v: 1, s: 'x', i: 'y', t: 1 })],
    ['a version the server does not know', forgedPosition({ v: 2, s: '1', i: randomUUID(), t: Date.now() })],
    ['issued in the future', forgedPosition({ v: 1, s: '0', i: randomUUID(), t: Date.now() + 86_400_000 })],
    ['ahead of every change the user has made', forgedPosition({ v: 1, s: '999999999', i: randomUUID(), t: Date.now() })],
    ['a JSON array', Buffer.from('[1,2,3]').toString('base64url')],
  ] as const) {
    it(`returns 422 when since is ${label}`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      await createTaskAs(api, user);

      const response = await api.http.get('/api/tasks/changes').query({ since }).set(bearer(user));

      expectProblem(response, { type: 'feed-position-invalid', instance: '/api/tasks/changes', errors: notIssuedErrors });
    });
  }

  it('returns 422 when limit or since break the contract', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const zero = await api.http.get('/api/tasks/changes?limit=0').set(bearer(user));
    const tooMany = await api.http.get('/api/tasks/changes?limit=501').set(bearer(user));
    const longSince = await api.http.get(`/api/tasks/changes?since=${'a'.repeat(201)}`).set(bearer(user));

    expectContractViolation(zero, '/api/tasks/changes', [{ path: '/query/limit', keyword: 'too_small' }]);
    expectContractViolation(tooMany, '/api/tasks/changes', [{ path: '/query/limit', keyword: 'too_large' }]);
    expectContractViolation(longSince, '/api/tasks/changes', [{ path: '/query/since', keyword: 'too_long' }]);
  });

  it('is not mistaken for getTask: a task is still read at /api/tasks/{id}', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createTaskAs(api, user);

    expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
    expect((await api.http.get('/api/tasks/changes').set(bearer(user))).status).to.equal(200);
  });
});
