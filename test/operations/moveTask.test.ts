// moveTask and sort=position: manual order (drag and drop), moving between lists and parents,
// and what two devices moving tasks in one list at the same time get.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { List, Task } from '../../src/contract.ts';
import { longestPosition } from '../../src/manual-order.ts';
import { newUser, sharedApi, type TestApi, type TestUser } from '../support/api.ts';
import { bearer, createTaskAs, expectProblem, expectTask, expectTaskNotFound, nextLinkOf, readTaskAs } from '../support/tasks.ts';


async function createListAs(api: TestApi, user: TestUser, name: string): Promise<List> {
  const response = await api.http.post('/api/lists').set(bearer(user)).send({ name });
  expect(response.status, response.text).to.equal(201);
  return response.body as List;
}

async function move(api: TestApi, user: TestUser, taskId: string, body: Record<string, unknown>) {
  return api.http.post(`/api/tasks/${taskId}/move`).set(bearer(user)).send(body);
}

/** Titles of a sibling group in manual order, following every cursor. */
async function titlesInOrder(api: TestApi, user: TestUser, group: string): Promise<string[]> {
  const titles: string[] = [];
  for (let url: string | undefined = `/api/tasks?${group}&sort=position&limit=3`; url; ) {
    const response = await api.http.get(url).set(bearer(user));
    expect(response.status, response.text).to.equal(200);
    titles.push(...(response.body as Task[]).map((task) => task.title));
    url = nextLinkOf(response);
  }
  return titles;
}

const inbox = 'list_id=inbox&parent_id=none';

describe('moveTask', () => {
  it('puts a new task at the top of its group, and places a task after or before a sibling or at the top, rewriting only that task', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const c = await createTaskAs(api, user, { title: 'C' });
    const b = await createTaskAs(api, user, { title: 'B' });
    const a = await createTaskAs(api, user, { title: 'A' });
    expect(await titlesInOrder(api, user, inbox)).to.deep.equal(['A', 'B', 'C']);

    const response = await move(api, user, a.id, { after_id: b.id });

    expect(response.status, response.text).to.equal(200);
    expectTask(response.body, { id: a.id, user_id: user.id, title: 'A', description: null, status: 'pending', created_at: a.created_at });
    expect(response.headers.etag).to.match(/^"[0-9]+"$/);
    expect(b.position < response.body.position && response.body.position < c.position).to.equal(true);
    expect(await titlesInOrder(api, user, inbox)).to.deep.equal(['B', 'A', 'C']);
    expect(await readTaskAs(api, user, b.id)).to.deep.equal(b);
    expect(await readTaskAs(api, user, c.id)).to.deep.equal(c);

    await move(api, user, c.id, { before_id: b.id });
    expect(await titlesInOrder(api, user, inbox)).to.deep.equal(['C', 'B', 'A']);
    await move(api, user, a.id, {});
    expect(await titlesInOrder(api, user, inbox)).to.deep.equal(['A', 'C', 'B']);
  });

  it('moves a task to another list, and its subtasks with it', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const list = await createListAs(api, user, 'Work');
    const parent = await createTaskAs(api, user, { title: 'Parent' });
    const child = await createTaskAs(api, user, { title: 'Child', parent_id: parent.id });
    const grandchild = await createTaskAs(api, user, { title: 'Grandchild', parent_id: child.id });
    await createTaskAs(api, user, { title: 'Already there', list_id: list.id });

    const response = await move(api, user, parent.id, { list_id: list.id });

    expect(response.status, response.text).to.equal(200);
    expect([response.body.list_id, response.body.parent_id]).to.deep.equal([list.id, null]);
    expect(await titlesInOrder(api, user, `list_id=${list.id}&parent_id=none`)).to.deep.equal(['Parent', 'Already there']);
    const movedChild = await readTaskAs(api, user, child.id);
    const movedGrandchild = await readTaskAs(api, user, grandchild.id);
    expect([movedChild.list_id, movedChild.parent_id, movedChild.position]).to.deep.equal([list.id, parent.id, child.position]);
    expect([movedGrandchild.list_id, movedGrandchild.parent_id]).to.deep.equal([list.id, child.id]);
    expect(await titlesInOrder(api, user, inbox)).to.deep.equal([]);
  });

  it('makes a task a subtask (in its new parent\'s list) and back a top-level task', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const list = await createListAs(api, user, 'Home');
    const parent = await createTaskAs(api, user, { title: 'Parent', list_id: list.id });
    const first = await createTaskAs(api, user, { title: 'First', parent_id: parent.id });
    const task = await createTaskAs(api, user, { title: 'Loose' });

    const under = await move(api, user, task.id, { parent_id: parent.id, after_id: first.id });

    expect(under.status, under.text).to.equal(200);
    expect([under.body.list_id, under.body.parent_id]).to.deep.equal([list.id, parent.id]);
    expect(await titlesInOrder(api, user, `parent_id=${parent.id}`)).to.deep.equal(['First', 'Loose']);

    const back = await move(api, user, task.id, { parent_id: null });
    expect([back.body.list_id, back.body.parent_id]).to.deep.equal([list.id, null]);
    expect(await titlesInOrder(api, user, `list_id=${list.id}&parent_id=none`)).to.deep.equal(['Loose', 'Parent']);
  });

  it('returns 422 for a list_id that differs from the new parent\'s list', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const list = await createListAs(api, user, 'Other');
    const parent = await createTaskAs(api, user, { title: 'Inbox parent' });
    const task = await createTaskAs(api, user, { title: 'Task' });
    const response = await move(api, user, task.id, { parent_id: parent.id, list_id: list.id });
    expectProblem(response, {
      type: 'parent-in-another-list',
      instance: `/api/tasks/${task.id}/move`,
      errors: [{ path: '/body/list_id', keyword: 'conflict' }],
    });
  });

  it('returns 422 for a cycle: a task under itself or under its own descendant', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const root = await createTaskAs(api, user, { title: 'Root' });
    const child = await createTaskAs(api, user, { title: 'Child', parent_id: root.id });
    const grandchild = await createTaskAs(api, user, { title: 'Grandchild', parent_id: child.id });
    for (const parentId of [root.id, grandchild.id]) {
      expectProblem(await move(api, user, root.id, { parent_id: parentId }), {
        type: 'subtask-cycle',
        instance: `/api/tasks/${root.id}/move`,
        errors: [{ path: '/body/parent_id', keyword: 'invalid' }],
      });
    }
    expect((await readTaskAs(api, user, root.id)).parent_id).to.equal(null);
  });

  it('returns 422 when the move would nest a task (or its subtasks) more than four levels deep', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const level1 = await createTaskAs(api, user, { title: 'L1' });
    const level2 = await createTaskAs(api, user, { title: 'L2', parent_id: level1.id });
    const level3 = await createTaskAs(api, user, { title: 'L3', parent_id: level2.id });
    const other = await createTaskAs(api, user, { title: 'Other' });
    await createTaskAs(api, user, { title: 'Other child', parent_id: other.id });
    const tooDeep = {
      type: 'subtasks-too-deep' as const,
      errors: [{ path: '/body/parent_id', keyword: 'invalid' as const }],
    };
    // Other (with a child) under L3 would make its child a fifth level; under L2 it fits.
    expectProblem(await move(api, user, other.id, { parent_id: level3.id }), { ...tooDeep, instance: `/api/tasks/${other.id}/move` });
    expect((await move(api, user, other.id, { parent_id: level2.id })).status).to.equal(200);
  });

  it("returns 422 when a neighbour is not a sibling at the destination, is the task itself, or is another user's task", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const list = await createListAs(api, user, 'Elsewhere');
    const task = await createTaskAs(api, user, { title: 'Moving' });
    const inOtherList = await createTaskAs(api, user, { title: 'Not a sibling', list_id: list.id });
    const theirs = await createTaskAs(api, await newUser(), { title: 'Theirs' });
    for (const [field, id] of [
      ['after_id', inOtherList.id],
      ['before_id', task.id],
      ['after_id', theirs.id],
      ['before_id', randomUUID()],
    ] as const) {
      expectProblem(await move(api, user, task.id, { [field]: id }), {
        type: 'neighbour-not-sibling',
        instance: `/api/tasks/${task.id}/move`,
        errors: [{ path: `/body/${field}`, keyword: 'invalid' }],
      });
    }
  });

  it("returns 422 for another user's list or parent in the body, exactly as for missing ones", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const stranger = await newUser();
    const theirList = await createListAs(api, stranger, 'Theirs');
    const theirTask = await createTaskAs(api, stranger, { title: 'Theirs' });
    const task = await createTaskAs(api, user, { title: 'Mine' });
    for (const listId of [theirList.id, randomUUID()]) {
      expectProblem(await move(api, user, task.id, { list_id: listId }), {
        type: 'list-unknown',
        instance: `/api/tasks/${task.id}/move`,
        errors: [{ path: '/body/list_id', keyword: 'unknown' }],
      });
    }
    for (const parentId of [theirTask.id, randomUUID()]) {
      expectProblem(await move(api, user, task.id, { parent_id: parentId }), {
        type: 'parent-unknown',
        instance: `/api/tasks/${task.id}/move`,
        errors: [{ path: '/body/parent_id', keyword: 'unknown' }],
      });
    }
    expect(await readTaskAs(api, stranger, theirTask.id)).to.deep.equal(theirTask);
  });

  it("returns 404 for another user's task and for a missing one", async () => {
    const api = await sharedApi();
    const theirs = await createTaskAs(api, await newUser(), { title: 'Theirs' });
    const user = await newUser();
    for (const id of [theirs.id, randomUUID()]) {
      expectTaskNotFound(await move(api, user, id, {}), `/api/tasks/${id}/move`);
    }
  });

  it('returns 412 for a stale If-Match and moves nothing', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const other = await createTaskAs(api, user, { title: 'Other' });
    const created = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Guarded' });
    await api.http.patch(`/api/tasks/${created.body.id}`).set(bearer(user)).send({ title: 'Changed' });
    const response = await api.http
      .post(`/api/tasks/${created.body.id}/move`)
      .set(bearer(user))
      .set('If-Match', created.headers.etag!)
      .send({ after_id: other.id });
    expectProblem(response, {
      type: 'task-changed',
      instance: `/api/tasks/${created.body.id}/move`,
    });
    expect(await titlesInOrder(api, user, inbox)).to.deep.equal(['Changed', 'Other']);
  });

  it('keeps positions bounded under many moves between the same two neighbours, every renumbered task reaching the change feed', async function () {
    this.timeout(180_000);
    const api = await sharedApi();
    const user = await newUser();
    const right = await createTaskAs(api, user, { title: 'Right' });
    const left = await createTaskAs(api, user, { title: 'Left' });
    const x = await createTaskAs(api, user, { title: 'X' });
    const y = await createTaskAs(api, user, { title: 'Y' });
    const start = await api.http.get('/api/tasks/changes').set(bearer(user));
    let renumberings = 0;
    for (let step = 0; step < 150; step += 1) {
      const moved = step % 2 === 0 ? x : y;
      const before = await readTaskAs(api, user, right.id);
      const response = await move(api, user, moved.id, { after_id: left.id });
      expect(response.status, response.text).to.equal(200);
      expect(response.body.position.length).to.be.at.most(longestPosition);
      if ((await readTaskAs(api, user, right.id)).position !== before.position) renumberings += 1;
    }
    expect(renumberings).to.be.at.least(1);
    expect(await titlesInOrder(api, user, inbox)).to.deep.equal(['Left', 'Y', 'X', 'Right']);
    // Since the start, the feed has every task of the group in its current state (Right and Left
    // only because a renumbering rewrote them).
    const changes = await api.http.get(`/api/tasks/changes?since=${start.body.next_since}`).set(bearer(user));
    const current = await Promise.all([left, y, x, right].map((task) => readTaskAs(api, user, task.id)));
    expect(changes.body.changes.map((change: { task: Task }) => change.task).sort((a: Task, b: Task) => (a.id < b.id ? -1 : 1))).to.deep.equal(
      current.sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
  });

  it('renumbers only the tasks near the gap, not the whole list, keeping every other task in its place', async function () {
    this.timeout(180_000);
    const api = await sharedApi();
    const user = await newUser();
    for (let index = 0; index < 100; index += 1) await createTaskAs(api, user, { title: `T${String(index).padStart(3, '0')}` });
    const ordered = async () => (await api.http.get(`/api/tasks?${inbox}&sort=position&limit=200`).set(bearer(user))).body as Task[];
    const initial = await ordered();
    const [anchor, x, y] = [initial[50]!, initial[10]!, initial[90]!];
    const expectedTitles = [...initial.filter((task) => task.id !== x.id && task.id !== y.id).map((task) => task.title)];
    expectedTitles.splice(expectedTitles.indexOf(anchor.title) + 1, 0, 'X or Y', 'X or Y');
    const rewrites: number[] = [];
    let previous = initial;
    for (let step = 0; step < 150; step += 1) {
      const moved = step % 2 === 0 ? x : y;
      expect((await move(api, user, moved.id, { after_id: anchor.id })).status).to.equal(200);
      const now = await ordered();
      const before = new Map(previous.map((task) => [task.id, task.position]));
      const rewritten = now.filter((task) => task.id !== moved.id && before.get(task.id) !== task.position).length;
      if (rewritten > 0) rewrites.push(rewritten);
      previous = now;
    }
    expect(rewrites).to.not.be.empty;
    // At most 16 on each side of the gap (the other moving task among them), never all 99.
    for (const rewritten of rewrites) expect(rewritten).to.be.within(1, 32);
    const positions = previous.map((task) => task.position);
    expect(positions).to.deep.equal([...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(new Set(positions).size).to.equal(100);
    for (const position of positions) expect(position.length).to.be.at.most(longestPosition);
    expect(previous.map((task) => (task.id === x.id || task.id === y.id ? 'X or Y' : task.title))).to.deep.equal(expectedTitles);
  });

  it('never gives two tasks the same position and loses no move when two devices move tasks in one list at the same time', async function () {
    this.timeout(180_000);
    const api = await sharedApi();
    const user = await newUser();
    const tasks: Task[] = [];
    for (let index = 0; index < 8; index += 1) tasks.push(await createTaskAs(api, user, { title: `T${index}` }));
    const [anchor, ...others] = tasks;
    // Every other task dropped right after the same anchor, all at once, from two "devices".
    const responses = await Promise.all(others.map((task) => move(api, user, task.id, { after_id: anchor!.id })));
    for (const response of responses) expect(response.status, response.text).to.equal(200);

    const all = await api.http.get(`/api/tasks?${inbox}&sort=position&limit=50`).set(bearer(user));
    const positions = (all.body as Task[]).map((task) => task.position);
    expect(new Set(positions).size).to.equal(tasks.length);
    // Each response's position is the task's position now (no later move overwrote it with a
    // stale one), and the anchor stays first: every move landed right after it, one after another.
    expect(all.body[0].id).to.equal(anchor!.id);
    for (const response of responses) {
      const now = (all.body as Task[]).find((task) => task.id === response.body.id)!;
      expect(now.position).to.equal(response.body.position);
    }
  });
});

describe('listTasks: list_id, parent_id and sort=position', () => {
  it('filters by list (or inbox) and parent (or none), pages in manual order by cursor, both directions', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const list = await createListAs(api, user, 'Paged');
    for (const title of ['E', 'D', 'C', 'B', 'A']) await createTaskAs(api, user, { title, list_id: list.id });
    const parent = (await api.http.get(`/api/tasks?list_id=${list.id}&parent_id=none&sort=position&limit=1`).set(bearer(user))).body[0] as Task;
    await createTaskAs(api, user, { title: 'Sub', parent_id: parent.id });
    await createTaskAs(api, user, { title: 'In the inbox' });

    expect(await titlesInOrder(api, user, `list_id=${list.id}&parent_id=none`)).to.deep.equal(['A', 'B', 'C', 'D', 'E']);
    expect(await titlesInOrder(api, user, `list_id=${list.id.toUpperCase()}&parent_id=none`)).to.deep.equal(['A', 'B', 'C', 'D', 'E']);
    const descending = await api.http.get(`/api/tasks?list_id=${list.id}&parent_id=none&sort=-position`).set(bearer(user));
    expect(descending.body.map((task: Task) => task.title)).to.deep.equal(['E', 'D', 'C', 'B', 'A']);
    expect(await titlesInOrder(api, user, `parent_id=${parent.id}`)).to.deep.equal(['Sub']);
    expect(await titlesInOrder(api, user, inbox)).to.deep.equal(['In the inbox']);
    const whole = await api.http.get(`/api/tasks?list_id=${list.id}`).set(bearer(user));
    expect(whole.body.map((task: Task) => task.title)).to.deep.equal(['Sub', 'A', 'B', 'C', 'D', 'E']);
  });

  it('returns 422 for sort=position without a sibling group, naming the parameter that is missing', async () => {
    const api = await sharedApi();
    const user = await newUser();
    for (const [query, missing] of [
      ['sort=position', 'parent_id'],
      ['sort=position&parent_id=none', 'list_id'],
      ['sort=-position&list_id=inbox', 'parent_id'],
    ] as const) {
      expectProblem(await api.http.get(`/api/tasks?${query}`).set(bearer(user)), {
        type: 'position-sort-needs-siblings',
        instance: '/api/tasks',
        errors: [{ path: `/query/${missing}`, keyword: 'required' }],
      });
    }
  });

  it("returns 422 for another user's list or task in list_id / parent_id, exactly as for missing ones, showing nothing of theirs", async () => {
    const api = await sharedApi();
    const stranger = await newUser();
    const theirList = await createListAs(api, stranger, 'Theirs');
    const theirTask = await createTaskAs(api, stranger, { title: 'Theirs', list_id: theirList.id });
    const user = await newUser();
    for (const id of [theirList.id, randomUUID()]) {
      for (const url of [`/api/tasks?list_id=${id}`, `/api/tasks/summary?list_id=${id}`]) {
        expectProblem(await api.http.get(url).set(bearer(user)), {
          type: 'list-unknown',
          instance: url.split('?')[0]!,
          errors: [{ path: '/query/list_id', keyword: 'unknown' }],
        });
      }
    }
    for (const id of [theirTask.id, randomUUID()]) {
      expectProblem(await api.http.get(`/api/tasks?parent_id=${id}`).set(bearer(user)), {
        type: 'parent-unknown',
        instance: '/api/tasks',
        errors: [{ path: '/query/parent_id', keyword: 'unknown' }],
      });
    }
  });

  it('counts one list (or the inbox) in the summary', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const list = await createListAs(api, user, 'Counted');
    await createTaskAs(api, user, { title: 'In list', list_id: list.id, status: 'in_progress' });
    await createTaskAs(api, user, { title: 'In inbox' });
    const inList = await api.http.get(`/api/tasks/summary?list_id=${list.id}`).set(bearer(user));
    const inInbox = await api.http.get('/api/tasks/summary?list_id=inbox').set(bearer(user));
    expect([inList.body.total, inList.body.by_status.in_progress]).to.deep.equal([1, 1]);
    expect([inInbox.body.total, inInbox.body.by_status.pending]).to.deep.equal([1, 1]);
  });
});
