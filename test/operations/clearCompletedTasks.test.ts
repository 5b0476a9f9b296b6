// POST /api/tasks/clear-completed: deletes the caller's completed tasks (only theirs, only completed
// ones) and says how many; the deletions reach the change feed as tombstones.
import { expect } from 'chai';
import { newUser, sharedApi } from '../support/api.ts';
import { bearer, createTaskAs, jsonContentType, listAllTasksAs } from '../support/tasks.ts';
import { feedPage } from '../support/versions.ts';

describe('clearCompletedTasks', () => {
  it("deletes the caller's completed tasks, keeps the others, and says how many", async () => {
    const api = await sharedApi();
    const user = await newUser();
    const pending = await createTaskAs(api, user, { title: 'Pending' });
    const inProgress = await createTaskAs(api, user, { title: 'In progress', status: 'in_progress' });
    const done = [
      await createTaskAs(api, user, { title: 'Done 1', completed: true }),
      await createTaskAs(api, user, { title: 'Done 2', status: 'completed' }),
    ];
    const { next_since: since } = await feedPage(api, user);

    const response = await api.http.post('/api/tasks/clear-completed').set(bearer(user));

    expect(response.status, response.text).to.equal(200);
    expect(response.headers['content-type']).to.equal(jsonContentType);
    expect(response.body).to.deep.equal({ deleted: 2 });
    expect(await listAllTasksAs(api, user)).to.deep.equal([inProgress, pending]);
    const tombstones = (await feedPage(api, user, { since })).changes;
    expect(tombstones.map((change) => [change.id, change.deleted]).sort()).to.deep.equal(done.map((task) => [task.id, true]).sort());
  });

  it('deletes nothing the second time', async () => {
    const api = await sharedApi();
    const user = await newUser();
    await createTaskAs(api, user, { title: 'Done', completed: true });
    await api.http.post('/api/tasks/clear-completed').set(bearer(user));

    const again = await api.http.post('/api/tasks/clear-completed').set(bearer(user));

    expect(again.status).to.equal(200);
    expect(again.body).to.deep.equal({ deleted: 0 });
  });

  it("never deletes another user's completed tasks", async () => {
    const api = await sharedApi();
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const bobsDone = await createTaskAs(api, bob, { title: "Bob's done", completed: true });
    await createTaskAs(api, alice, { title: "Alice's done", completed: true });

    const response = await api.http.post('/api/tasks/clear-completed').set(bearer(alice));

    expect(response.body).to.deep.equal({ deleted: 1 });
    expect(await listAllTasksAs(api, bob)).to.deep.equal([bobsDone]);
    expect(await listAllTasksAs(api, alice)).to.deep.equal([]);
  });

  it('ignores an empty JSON body, as it ignores no body', async () => {
    const api = await sharedApi();
    const user = await newUser();
    await createTaskAs(api, user, { title: 'Done', completed: true });

    const response = await api.http.post('/api/tasks/clear-completed').set(bearer(user)).set('content-type', 'application/json').send('');

    expect(response.status, response.text).to.equal(200);
    expect(response.body).to.deep.equal({ deleted: 1 });
  });
});
