// The compatibility routes `/api/{user_id}/tasks…` take the owner from the token, like every
// route; the `{user_id}` in the path must be the token's own subject, or the answer is 403.
import { expect } from 'chai';
import { newUser, sharedApi } from '../support/api.ts';
import { typeFor, expectNewTask, expectUnauthorized } from '../support/auth-assertions.ts';
import { expectProblem } from '../support/tasks.ts';

describe('user-scoped paths and the token subject', () => {
  it('serves /api/{user_id}/tasks to the user the token names', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const created = await api.http.post(`/api/${user.id}/tasks`).set('Authorization', user.authorization).send({ title: 'Mine' });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expectNewTask(created.body, user.id, 'Mine');
    expect(created.headers.location).to.equal(`/api/${user.id}/tasks/${created.body.id}`);

    const listed = await api.http.get(`/api/${user.id}/tasks`).set('Authorization', user.authorization);
    expect(listed.status).to.equal(200);
    expect(listed.body).to.deep.equal([created.body]);
  });

  it("answers 403 to a valid token listing another user's tasks, and shows none of them", async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const intruder = await newUser('intruder');
    const created = await api.http.post('/api/tasks').set('Authorization', owner.authorization).send({ title: 'Private' });
    expect(created.status).to.equal(201);

    const response = await api.http.get(`/api/${owner.id}/tasks`).set('Authorization', intruder.authorization);
    expectProblem(response, { type: 'user-path-mismatch', instance: `/api/${owner.id}/tasks` });
    expect(response.headers['www-authenticate']).to.equal(undefined);
  });

  it("answers 403 to a valid token reading, changing or deleting another user's task by its path", async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const intruder = await newUser('intruder');
    const created = await api.http.post('/api/tasks').set('Authorization', owner.authorization).send({ title: 'Private' });
    expect(created.status).to.equal(201);
    const taskPath = `/api/${owner.id}/tasks/${created.body.id}`;

    const attempts = [
      api.http.get(taskPath).set('Authorization', intruder.authorization),
      api.http.patch(taskPath).set('Authorization', intruder.authorization).send({ title: 'Mine now' }),
      api.http.put(taskPath).set('Authorization', intruder.authorization).send({ title: 'Mine now' }),
      api.http.delete(taskPath).set('Authorization', intruder.authorization),
    ];
    for (const response of await Promise.all(attempts)) expectProblem(response, { type: 'user-path-mismatch', instance: taskPath });
    const completion = await api.http.patch(`${taskPath}/complete`).set('Authorization', intruder.authorization);
    expectProblem(completion, { type: 'user-path-mismatch', instance: `${taskPath}/complete` });

    const unchanged = await api.http.get(`/api/tasks/${created.body.id}`).set('Authorization', owner.authorization);
    expect(unchanged.status).to.equal(200);
    expect(unchanged.body).to.deep.equal(created.body);
  });

  it('answers 401, not 403, to a request without a token on a user-scoped path', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const response = await api.http.get(`/api/${user.id}/tasks`);
    expectUnauthorized(response, { instance: `/api/${user.id}/tasks`, type: typeFor.missing, tokenSent: false });
  });
});
