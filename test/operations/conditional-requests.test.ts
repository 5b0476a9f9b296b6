// ETags and preconditions (RFC 9110 §8.8.3, §13): every task response carries a strong ETag that
// changes on every write; If-None-Match on getTask answers 304; If-Match on replace, update, delete
// and complete refuses a stale write with 412 and writes nothing. Another user's task stays 404.
import { expect } from 'chai';
import { newUser, sharedApi } from '../support/api.ts';
import {
  bearer,
  createTaskAs,
  expectContractViolation,
  expectProblem,
  expectTaskNotFound,
  expectTaskResponse,
  existingTask,
  readTaskAs,
  unknownTaskId,
} from '../support/tasks.ts';
import { etagOf, etagPattern } from '../support/versions.ts';

describe('ETag on task responses', () => {
  it('gives the created task a strong ETag that getTask repeats until the task changes', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const created = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Tagged' });
    const read = await api.http.get(`/api/tasks/${created.body.id}`).set(bearer(user));

    expect(created.status).to.equal(201);
    expect(etagOf(created)).to.equal(etagOf(read));
    expectTaskResponse(read, { ...created.body });
  });

  it('changes the ETag on every write, even writes in the same millisecond', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const created = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Busy' });
    const path = `/api/tasks/${created.body.id}`;

    const writes = [
      await api.http.put(path).set(bearer(user)).send({ title: 'Busy 1' }),
      await api.http.patch(path).set(bearer(user)).send({ title: 'Busy 2' }),
      await api.http.patch(`${path}/complete`).set(bearer(user)),
      await api.http.patch(path).set(bearer(user)).send({ title: 'Busy 2' }),
      await api.http.patch(path).set(bearer(user)).send({ title: 'Busy 2' }),
    ];

    const etags = [etagOf(created), ...writes.map((response) => etagOf(response))];
    expect(new Set(etags).size, etags.join(' ')).to.equal(etags.length);
    expect(etagOf(await api.http.get(path).set(bearer(user)))).to.equal(etags.at(-1));
  });

  it('puts the ETag on the user-scoped routes too, and honours If-Match there', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const base = `/api/${user.id}/tasks`;
    const created = await api.http.post(base).set(bearer(user)).send({ title: 'Hackathon' });
    const path = `${base}/${created.body.id}`;

    const read = await api.http.get(path).set(bearer(user));
    const stale = await api.http.patch(`${path}/complete`).set(bearer(user)).set('If-Match', '"0"');
    const fresh = await api.http.patch(`${path}/complete`).set(bearer(user)).set('If-Match', etagOf(read));
    const notModified = await api.http.get(path).set(bearer(user)).set('If-None-Match', etagOf(fresh));

    expect(etagOf(read)).to.equal(etagOf(created));
    expectProblem(stale, { type: 'task-changed', instance: `${path}/complete` });
    expectTaskResponse(fresh, { ...created.body, status: 'completed', updated_at: undefined, completed_at: undefined });
    expect(notModified.status).to.equal(304);
    expect(notModified.headers.etag).to.equal(etagOf(fresh));
  });
});

describe('getTask with If-None-Match', () => {
  for (const [label, header] of [
    ['the current ETag', (etag: string) => etag],
    ['the current ETag as a weak tag', (etag: string) => `W/${etag}`],
    ['a list that contains the current ETag', (etag: string) => `"0", ${etag}`],
    ['*', () => '*'],
  ] as const) {
    it(`returns 304 with the ETag and no body for ${label}`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await createTaskAs(api, user);
      const etag = etagOf(await api.http.get(`/api/tasks/${task.id}`).set(bearer(user)));

      const response = await api.http.get(`/api/tasks/${task.id}`).set(bearer(user)).set('If-None-Match', header(etag));

      expect(response.status).to.equal(304);
      expect(response.headers.etag).to.equal(etag);
      expect(response.text).to.equal('');
      expect(response.headers['content-type']).to.equal(undefined);
    });
  }

  it('returns 422 when If-None-Match is not * or a list of entity tags', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await createTaskAs(api, user);

    const response = await api.http.get(`/api/tasks/${task.id}`).set(bearer(user)).set('If-None-Match', '42');

    expectContractViolation(response, `/api/tasks/${task.id}`, [{ path: '/headers/if-none-match', keyword: 'invalid_format' }]);
  });

  it('returns 200 and the whole task when the ETag sent is stale', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const task = await existingTask(api, user);
    const before = etagOf(await api.http.get(`/api/tasks/${task.id}`).set(bearer(user)));
    const renamed = await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'Renamed' });

    const response = await api.http.get(`/api/tasks/${task.id}`).set(bearer(user)).set('If-None-Match', before);

    expectTaskResponse(response, { ...renamed.body });
    expect(etagOf(response)).to.equal(etagOf(renamed)).and.not.equal(before);
  });

  it("returns 404 for another user's task even with If-None-Match: *", async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const stranger = await newUser('stranger');
    const task = await createTaskAs(api, owner);

    const response = await api.http.get(`/api/tasks/${task.id}`).set(bearer(stranger)).set('If-None-Match', '*');

    expectTaskNotFound(response, `/api/tasks/${task.id}`);
    expect(response.headers.etag).to.equal(undefined);
  });
});

type Write = {
  readonly operation: string;
  readonly send: (api: Awaited<ReturnType<typeof sharedApi>>, path: string) => ReturnType<Awaited<ReturnType<typeof sharedApi>>['http']['get']>;
  readonly suffix: '' | '/complete';
  readonly success: number;
};

const writes: readonly Write[] = [
  { operation: 'replaceTask', send: (api, path) => api.http.put(path).send({ title: 'Replaced' }), suffix: '', success: 200 },
  { operation: 'updateTask', send: (api, path) => api.http.patch(path).send({ title: 'Updated' }), suffix: '', success: 200 },
  { operation: 'completeTask', send: (api, path) => api.http.patch(path), suffix: '/complete', success: 200 },
  { operation: 'deleteTask', send: (api, path) => api.http.delete(path), suffix: '', success: 204 },
];

for (const { operation, send, suffix, success } of writes) {
  describe(`${operation} with If-Match`, () => {
    it(`answers ${success} and writes when If-Match is the current ETag`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user);
      const etag = etagOf(await api.http.get(`/api/tasks/${task.id}`).set(bearer(user)));

      const response = await send(api, `/api/tasks/${task.id}${suffix}`).set(bearer(user)).set('If-Match', etag);

      expect(response.status, response.text).to.equal(success);
      if (success === 204) {
        expect(response.headers.etag).to.equal(undefined);
        expect((await api.http.get(`/api/tasks/${task.id}`).set(bearer(user))).status).to.equal(404);
      } else {
        expect(etagOf(response)).to.not.equal(etag);
        expect(response.body.updated_at > task.updated_at).to.equal(true);
      }
    });

    for (const [label, header] of [
      ['a stale ETag', (etag: string) => `"${Number(etag.slice(1, -1)) - 1}"`],
      ['the current ETag marked weak (If-Match compares strongly)', (etag: string) => `W/${etag}`],
    ] as const) {
      it(`returns 412 and writes nothing when If-Match is ${label}`, async () => {
        const api = await sharedApi();
        const user = await newUser();
        const task = await existingTask(api, user);
        const etag = etagOf(await api.http.get(`/api/tasks/${task.id}`).set(bearer(user)));

        const response = await send(api, `/api/tasks/${task.id}${suffix}`).set(bearer(user)).set('If-Match', header(etag));

        expectProblem(response, { type: 'task-changed', instance: `/api/tasks/${task.id}${suffix}` });
        const after = await api.http.get(`/api/tasks/${task.id}`).set(bearer(user));
        expect(after.body).to.deep.equal(task);
        expect(etagOf(after)).to.equal(etag);
      });
    }

    it('returns 422 and writes nothing when If-Match is not * or a list of entity tags', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user);

      const response = await send(api, `/api/tasks/${task.id}${suffix}`).set(bearer(user)).set('If-Match', 'not-an-etag');

      expectContractViolation(response, `/api/tasks/${task.id}${suffix}`, [{ path: '/headers/if-match', keyword: 'invalid_format' }]);
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
    });

    it(`answers ${success} for If-Match: * on an existing task`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user);

      const response = await send(api, `/api/tasks/${task.id}${suffix}`).set(bearer(user)).set('If-Match', '*');

      expect(response.status, response.text).to.equal(success);
    });

    it("returns 404, not 412, for a missing task or another user's task whatever If-Match says", async () => {
      const api = await sharedApi();
      const owner = await newUser('owner');
      const stranger = await newUser('stranger');
      const task = await existingTask(api, owner);
      const ownersEtag = etagOf(await api.http.get(`/api/tasks/${task.id}`).set(bearer(owner)));
      const missingId = unknownTaskId();

      for (const header of ['*', ownersEtag, '"0"']) {
        const others = await send(api, `/api/tasks/${task.id}${suffix}`).set(bearer(stranger)).set('If-Match', header);
        const missing = await send(api, `/api/tasks/${missingId}${suffix}`).set(bearer(owner)).set('If-Match', header);
        expectTaskNotFound(others, `/api/tasks/${task.id}${suffix}`);
        expectTaskNotFound(missing, `/api/tasks/${missingId}${suffix}`);
      }
      expect(await readTaskAs(api, owner, task.id)).to.deep.equal(task);
    });

    // After a delete wins, the losers find no task at all: 404, as for any missing task.
    const loser = success === 204 ? 404 : 412;
    it(`lets exactly one of several concurrent writes with the same If-Match through; the others get ${loser}`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user);
      const etag = etagOf(await api.http.get(`/api/tasks/${task.id}`).set(bearer(user)));

      const responses = await Promise.all(
        Array.from({ length: 6 }, () => send(api, `/api/tasks/${task.id}${suffix}`).set(bearer(user)).set('If-Match', etag).then((r) => r)),
      );

      const statuses = responses.map((response) => response.status).sort();
      expect(statuses, responses.map((response) => response.text).join('\n')).to.deep.equal([success, ...Array(5).fill(loser)]);
      if (suffix === '/complete') {
        expect((await readTaskAs(api, user, task.id)).status).to.equal('completed');
      }
    });
  });
}

describe('ETags across users', () => {
  it("reveal nothing: one user's writes do not move another user's ETags", async () => {
    const api = await sharedApi();
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const aliceTask = await createTaskAs(api, alice);
    const before = etagOf(await api.http.get(`/api/tasks/${aliceTask.id}`).set(bearer(alice)));

    for (let index = 0; index < 3; index += 1) await createTaskAs(api, bob);
    const after = await api.http.get(`/api/tasks/${aliceTask.id}`).set(bearer(alice)).set('If-None-Match', before);

    expect(after.status).to.equal(304);
    expect(before).to.match(etagPattern);
  });
});
