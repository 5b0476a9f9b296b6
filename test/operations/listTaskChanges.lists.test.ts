// The change feed with include=lists: lists and list deletions in the same ordered stream as the
// tasks, opt-in (a client that does not ask sees exactly the task feed), never another user's, and
// a client that replays it during concurrent writes ends with exactly GET /api/lists + GET /api/tasks.
import { expect } from 'chai';
import type { List, Task } from '../../src/contract.ts';
import { newUser, sharedApi, type TestApi, type TestUser } from '../support/api.ts';
import { bearer, createTaskAs, expectProblem, listAllTasksAs } from '../support/tasks.ts';
import { feedPage } from '../support/versions.ts';

type Change =
  | { readonly id: string; readonly deleted: false; readonly task: Task }
  | { readonly id: string; readonly deleted: true; readonly deleted_at: string }
  | { readonly kind: 'list'; readonly id: string; readonly deleted: false; readonly list: List }
  | { readonly kind: 'list'; readonly id: string; readonly deleted: true; readonly deleted_at: string };

type Page = { readonly changes: Change[]; readonly next_since: string; readonly has_more: boolean };

async function page(api: TestApi, user: TestUser, query: string): Promise<Page> {
  const response = await api.http.get(`/api/tasks/changes?${query}`).set(bearer(user));
  expect(response.status, response.text).to.equal(200);
  return response.body as Page;
}

async function readToEnd(api: TestApi, user: TestUser, since: string | undefined, limit = 100): Promise<{ changes: Change[]; next_since: string }> {
  const changes: Change[] = [];
  let position = since;
  for (let pages = 0; pages < 1000; pages += 1) {
    const next = await page(api, user, `include=lists&limit=${limit}${position === undefined ? '' : `&since=${position}`}`);
    changes.push(...next.changes);
    position = next.next_since;
    if (!next.has_more) return { changes, next_since: position };
  }
  throw new Error('the feed did not end');
}

async function createListAs(api: TestApi, user: TestUser, name: string): Promise<List> {
  const response = await api.http.post('/api/lists').set(bearer(user)).send({ name });
  expect(response.status, response.text).to.equal(201);
  return response.body as List;
}

type Replica = { readonly lists: Map<string, List>; readonly tasks: Map<string, Task> };

/** Applies feed changes to a client's copy, as a syncing client would. */
function apply(replica: Replica, changes: readonly Change[]): Replica {
  for (const change of changes) {
    const isList = 'kind' in change;
    const store: Map<string, unknown> = isList ? replica.lists : replica.tasks;
    if (change.deleted) store.delete(change.id);
    else store.set(change.id, 'list' in change ? change.list : change.task);
  }
  return replica;
}

const byId = <T extends { id: string }>(items: Iterable<T>) => [...items].sort((a, b) => a.id.localeCompare(b.id));

describe('listTaskChanges with include=lists', () => {
  it('carries list writes and deletions in one order with the task changes; without include it is the task feed alone', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const work = await createListAs(api, user, 'Work');
    const task = await createTaskAs(api, user, { title: 'In work', list_id: work.id });
    const renamed = (await api.http.patch(`/api/lists/${work.id}`).set(bearer(user)).send({ name: 'Job' })).body as List;
    const doomed = await createListAs(api, user, 'Doomed');
    expect((await api.http.delete(`/api/lists/${doomed.id}`).set(bearer(user))).status).to.equal(204);

    const withLists = await page(api, user, 'include=lists');
    const tasksOnly = await page(api, user, '');

    expect(withLists.changes.map((change) => ('kind' in change ? `list ${change.id}` : `task ${change.id}`))).to.deep.equal([
      `task ${task.id}`,
      `list ${work.id}`,
      `list ${doomed.id}`,
    ]);
    expect(withLists.changes[1]).to.deep.equal({ kind: 'list', id: work.id, deleted: false, list: renamed });
    const tombstone = withLists.changes[2] as { deleted_at: string };
    expect(withLists.changes[2]).to.deep.equal({ kind: 'list', id: doomed.id, deleted: true, deleted_at: tombstone.deleted_at });
    expect(tasksOnly.changes).to.deep.equal([{ id: task.id, deleted: false, task }]);
  });

  it('shows the task tombstones of a deleted list, the moves and reparenting, after a position', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const list = await createListAs(api, user, 'Going');
    const inList = await createTaskAs(api, user, { title: 'Going too', list_id: list.id });
    const parent = await createTaskAs(api, user, { title: 'Parent' });
    const loose = await createTaskAs(api, user, { title: 'Loose' });
    const since = (await page(api, user, 'include=lists')).next_since;

    const moved = (await api.http.post(`/api/tasks/${loose.id}/move`).set(bearer(user)).send({ parent_id: parent.id })).body as Task;
    await api.http.delete(`/api/lists/${list.id}`).set(bearer(user));

    const { changes } = await readToEnd(api, user, since);
    expect(changes.map((change) => [('kind' in change ? 'list' : 'task'), change.id, change.deleted])).to.deep.equal([
      ['task', loose.id, false],
      ...[
        ['list', list.id, true],
        ['task', inList.id, true],
      ].sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
    ]);
    expect(changes[0]).to.deep.equal({ id: loose.id, deleted: false, task: moved });
  });

  it('refuses (422) a position from the task-only feed with include=lists, and the other way round', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const plain = (await feedPage(api, user)).next_since;
    const withLists = (await page(api, user, 'include=lists')).next_since;
    const notIssued = {
      type: 'feed-position-invalid' as const,
      instance: '/api/tasks/changes',
      errors: [{ path: '/query/since', keyword: 'invalid' as const }],
    };
    expectProblem(await api.http.get(`/api/tasks/changes?include=lists&since=${plain}`).set(bearer(user)), notIssued);
    expectProblem(await api.http.get(`/api/tasks/changes?since=${withLists}`).set(bearer(user)), notIssued);
  });

  it("never shows another user's lists or list deletions", async () => {
    const api = await sharedApi();
    const stranger = await newUser();
    const theirs = await createListAs(api, stranger, 'Theirs');
    await api.http.delete(`/api/lists/${(await createListAs(api, stranger, 'Gone')).id}`).set(bearer(stranger));
    const user = await newUser();
    const mine = await createListAs(api, user, 'Mine');

    const { changes } = await readToEnd(api, user, undefined);

    expect(changes).to.deep.equal([{ kind: 'list', id: mine.id, deleted: false, list: mine }]);
    expect(theirs.name).to.equal('Theirs');
  });

  it('lets a client that syncs lists and tasks while others write concurrently end with exactly GET /api/lists and GET /api/tasks', async function () {
    this.timeout(120_000);
    const api = await sharedApi();
    const user = await newUser();
    const lists = [await createListAs(api, user, 'L0'), await createListAs(api, user, 'L1'), await createListAs(api, user, 'L2')];
    const seed: Task[] = [];
    for (let index = 0; index < 6; index += 1) seed.push(await createTaskAs(api, user, { title: `Seed ${index}`, list_id: lists[index % 2]!.id }));
    const replica = apply({ lists: new Map(), tasks: new Map() }, (await readToEnd(api, user, undefined)).changes);
    let since = (await page(api, user, 'include=lists')).next_since;
    let writing = true;

    const writers = (async () => {
      const work: Promise<unknown>[] = [];
      for (let round = 0; round < 3; round += 1) {
        work.push(createTaskAs(api, user, { title: `New ${round}`, list_id: lists[round % 2]!.id }));
        work.push(api.http.post(`/api/tasks/${seed[round]!.id}/move`).set(bearer(user)).send({ list_id: lists[(round + 1) % 2]!.id }).then());
        work.push(api.http.post(`/api/tasks/${seed[round + 3]!.id}/move`).set(bearer(user)).send({ parent_id: seed[round]!.id }).then());
        work.push(api.http.patch(`/api/lists/${lists[round]!.id}`).set(bearer(user)).send({ color: 'blue' }).then());
        work.push(api.http.post(`/api/lists/${lists[round]!.id}/move`).set(bearer(user)).send({}).then());
      }
      work.push(createListAs(api, user, 'Added meanwhile'));
      await Promise.all(work);
      await api.http.delete(`/api/lists/${lists[2]!.id}`).set(bearer(user));
      await api.http.delete(`/api/lists/${lists[1]!.id}?move_tasks_to=inbox`).set(bearer(user));
      writing = false;
    })();
    for (let polls = 0; writing && polls < 300; polls += 1) {
      const synced = await readToEnd(api, user, since, 2);
      apply(replica, synced.changes);
      since = synced.next_since;
    }
    await writers;
    apply(replica, (await readToEnd(api, user, since, 2)).changes);

    const serverLists = (await api.http.get('/api/lists').set(bearer(user))).body as List[];
    expect(byId(replica.lists.values())).to.deep.equal(byId(serverLists));
    expect(byId(replica.tasks.values())).to.deep.equal(byId(await listAllTasksAs(api, user)));
  });
});
