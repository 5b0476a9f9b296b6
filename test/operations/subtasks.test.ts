// Tasks in lists and subtasks: createTask's list_id and parent_id, and what deleting, clearing and
// completing do to a task's subtasks (each deletion reaching the change feed as a tombstone).
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { List, Task } from '../../src/contract.ts';
import { newUser, sharedApi, type TestApi, type TestUser } from '../support/api.ts';
import { bearer, createTaskAs, expectCreated, expectProblem, listAllTasksAs, readTaskAs } from '../support/tasks.ts';
import { feedPage } from '../support/versions.ts';

async function createListAs(api: TestApi, user: TestUser, name: string): Promise<List> {
  const response = await api.http.post('/api/lists').set(bearer(user)).send({ name });
  expect(response.status, response.text).to.equal(201);
  return response.body as List;
}

describe('createTask: lists and subtasks', () => {
  it('creates a task in a list, at the top of it', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const list = await createListAs(api, user, 'Work');
    const older = await createTaskAs(api, user, { title: 'Older', list_id: list.id });

    const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Newer', list_id: list.id });

    const task = expectCreated(response, '/api/tasks', { user_id: user.id, title: 'Newer', description: null, status: 'pending', list_id: list.id });
    expect(task.position < older.position).to.equal(true);
  });

  it("creates a subtask in its parent's list, with or without the same list_id, up to four levels", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const list = await createListAs(api, user, 'Home');
    const level1 = await createTaskAs(api, user, { title: 'L1', list_id: list.id });
    const level2 = await createTaskAs(api, user, { title: 'L2', parent_id: level1.id });
    const level3 = await createTaskAs(api, user, { title: 'L3', parent_id: level2.id, list_id: list.id });

    const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'L4', parent_id: level3.id });

    expectCreated(response, '/api/tasks', { user_id: user.id, title: 'L4', description: null, status: 'pending', list_id: list.id, parent_id: level3.id });
    expect([level2.list_id, level2.parent_id]).to.deep.equal([list.id, level1.id]);
    const fifth = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'L5', parent_id: response.body.id });
    expectProblem(fifth, {
      type: 'subtasks-too-deep',
      instance: '/api/tasks',
      errors: [{ path: '/body/parent_id', keyword: 'invalid' }],
    });
  });

  it("returns 422 for a list_id that differs from the parent's list (null included)", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const list = await createListAs(api, user, 'Elsewhere');
    const parent = await createTaskAs(api, user, { title: 'In the inbox' });
    for (const listId of [list.id]) {
      expectProblem(await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Child', parent_id: parent.id, list_id: listId }), {
        type: 'parent-in-another-list',
        instance: '/api/tasks',
        errors: [{ path: '/body/list_id', keyword: 'conflict' }],
      });
    }
    const inList = await createTaskAs(api, user, { title: 'In a list', list_id: list.id });
    const nullList = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Child', parent_id: inList.id, list_id: null });
    expect(nullList.status).to.equal(422);
    expect(await listAllTasksAs(api, user)).to.have.length(2);
  });

  it("returns 422 for another user's list or task as list_id / parent_id, exactly as for missing ones, creating nothing", async () => {
    const api = await sharedApi();
    const stranger = await newUser();
    const theirList = await createListAs(api, stranger, 'Theirs');
    const theirTask = await createTaskAs(api, stranger, { title: 'Theirs' });
    const user = await newUser();
    for (const id of [theirList.id, randomUUID()]) {
      expectProblem(await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Nope', list_id: id }), {
        type: 'list-unknown',
        instance: '/api/tasks',
        errors: [{ path: '/body/list_id', keyword: 'unknown' }],
      });
    }
    for (const id of [theirTask.id, randomUUID()]) {
      expectProblem(await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Nope', parent_id: id }), {
        type: 'parent-unknown',
        instance: '/api/tasks',
        errors: [{ path: '/body/parent_id', keyword: 'unknown' }],
      });
    }
    expect(await listAllTasksAs(api, user)).to.deep.equal([]);
    expect(await listAllTasksAs(api, stranger)).to.deep.equal([theirTask]);
  });
});

describe('deleteTask, clearCompletedTasks and completeTask on a task with subtasks', () => {
  it('deletes a task with all its subtasks, each with a tombstone in the change feed', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const parent = await createTaskAs(api, user, { title: 'Parent' });
    const child = await createTaskAs(api, user, { title: 'Child', parent_id: parent.id });
    const grandchild = await createTaskAs(api, user, { title: 'Grandchild', parent_id: child.id });
    const sibling = await createTaskAs(api, user, { title: 'Sibling' });
    const since = (await feedPage(api, user)).next_since;

    expect((await api.http.delete(`/api/tasks/${parent.id}`).set(bearer(user))).status).to.equal(204);

    expect(await listAllTasksAs(api, user)).to.deep.equal([sibling]);
    const changes = (await feedPage(api, user, { since })).changes;
    expect(changes.map((change) => [change.id, change.deleted]).sort()).to.deep.equal(
      [parent.id, child.id, grandchild.id].map((id) => [id, true]).sort(),
    );
  });

  it('deletes only the subtree when a subtask is deleted', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const parent = await createTaskAs(api, user, { title: 'Parent' });
    const child = await createTaskAs(api, user, { title: 'Child', parent_id: parent.id });
    await createTaskAs(api, user, { title: 'Grandchild', parent_id: child.id });
    const otherChild = await createTaskAs(api, user, { title: 'Other child', parent_id: parent.id });

    expect((await api.http.delete(`/api/tasks/${child.id}`).set(bearer(user))).status).to.equal(204);

    expect((await listAllTasksAs(api, user)).map((task) => task.id).sort()).to.deep.equal([parent.id, otherChild.id].sort());
  });

  it('leaves the subtasks as they are when a parent is completed, and clear-completed takes the subtasks of the tasks it deletes', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const parent = await createTaskAs(api, user, { title: 'Parent' });
    const child = await createTaskAs(api, user, { title: 'Child', parent_id: parent.id });
    const keptParent = await createTaskAs(api, user, { title: 'Kept parent' });
    const completedChild = await createTaskAs(api, user, { title: 'Done child', parent_id: keptParent.id, completed: true });

    const completed = await api.http.patch(`/api/tasks/${parent.id}/complete`).set(bearer(user));
    expect(completed.body.status).to.equal('completed');
    expect(await readTaskAs(api, user, child.id)).to.deep.equal(child);

    const cleared = await api.http.post('/api/tasks/clear-completed').set(bearer(user));

    expect(cleared.body).to.deep.equal({ deleted: 3 });
    expect(await listAllTasksAs(api, user)).to.deep.equal([keptParent]);
    expect(completedChild.status).to.equal('completed');
  });
});

describe('a task in the feed and in listTasks carries its list, parent and position', () => {
  it('shows list_id, parent_id and position in every task representation', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const list = await createListAs(api, user, 'Shown');
    const parent = await createTaskAs(api, user, { title: 'Parent', list_id: list.id });
    const child = await createTaskAs(api, user, { title: 'Child', parent_id: parent.id });
    const listed = (await api.http.get(`/api/tasks?parent_id=${parent.id}`).set(bearer(user))).body as Task[];
    expect(listed).to.deep.equal([child]);
    const feed = await feedPage(api, user);
    expect(feed.changes.map((change) => (change.deleted ? undefined : change.task))).to.deep.equal([parent, child]);
  });
});
