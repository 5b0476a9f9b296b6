import { expect } from 'chai';
import { newUser, sharedApi } from '../support/api.ts';
import {
  bearer,
  completionDisagreement,
  disagreeingCompletionBodies,
  expectContractViolation,
  expectCreated,
  expectProblem,
  expectTimestamp,
  invalidTaskFieldCases,
  listAllTasksAs,
  oversizedBody,
  readTaskAs,
} from '../support/tasks.ts';

describe('createTask', () => {
  it('stores priority, tags and due_at: tags trimmed, later case-insensitive repeats dropped, order kept, due_at in UTC', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http
      .post('/api/tasks')
      .set(bearer(user))
      .send({
        title: 'Plan the offsite',
        priority: 'high',
        tags: ['  Work ', 'Q4', 'work', 'q4', '\tOffsite\n', 't'.repeat(40)],
        due_at: '2026-12-01T18:30:00.1234+01:00',
      });

    const task = expectCreated(response, '/api/tasks', {
      user_id: user.id,
      title: 'Plan the offsite',
      description: null,
      status: 'pending',
      priority: 'high',
      tags: ['Work', 'Q4', 'Offsite', 't'.repeat(40)],
      due_at: '2026-12-01T17:30:00.123Z',
    });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
  });

  it('accepts an explicit null due_at, an empty tag list and each priority', async () => {
    const api = await sharedApi();
    const user = await newUser();

    for (const priority of ['low', 'medium', 'high'] as const) {
      const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: priority, priority, tags: [], due_at: null });
      const task = expectCreated(response, '/api/tasks', { user_id: user.id, title: priority, description: null, status: 'pending', priority });
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
    }
  });

  it('creates a task from a title alone, with the documented defaults and a Location', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const before = Date.now();
    const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Buy milk' });
    const after = Date.now();

    const task = expectCreated(response, '/api/tasks', {
      user_id: user.id,
      title: 'Buy milk',
      description: null,
      status: 'pending',
      completed_at: null,
    });
    expectTimestamp(task.created_at, { from: before, to: after });
    expect(task.updated_at).to.equal(task.created_at);
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
  });

  it('creates a task with a description and status in_progress', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http
      .post('/api/tasks')
      .set(bearer(user))
      .send({ title: 'Write the report', description: 'Numbers first.', status: 'in_progress' });

    const task = expectCreated(response, '/api/tasks', {
      user_id: user.id,
      title: 'Write the report',
      description: 'Numbers first.',
      status: 'in_progress',
    });
    expect(task.updated_at).to.equal(task.created_at);
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
  });

  it('creates a completed task, stamped now, when status is "completed"', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const before = Date.now();
    const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Done already', status: 'completed' });
    const after = Date.now();

    const task = expectCreated(response, '/api/tasks', { user_id: user.id, title: 'Done already', description: null, status: 'completed' });
    expectTimestamp(task.completed_at, { from: before, to: after });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
  });

  it('creates a completed task, stamped now, when completed is true', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const before = Date.now();
    const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Done already', completed: true });
    const after = Date.now();

    const task = expectCreated(response, '/api/tasks', { user_id: user.id, title: 'Done already', description: null, status: 'completed' });
    expectTimestamp(task.completed_at, { from: before, to: after });
  });

  it('accepts completed and status together when they agree', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const agreeing = [
      { completed: true, status: 'completed' },
      { completed: false, status: 'pending' },
      { completed: false, status: 'in_progress' },
    ] as const;

    for (const fields of agreeing) {
      const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Agreeing', ...fields });
      expectCreated(response, '/api/tasks', { user_id: user.id, title: 'Agreeing', description: null, status: fields.status });
    }
  });

  it('creates a pending task when completed is false', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Not yet', completed: false });

    expectCreated(response, '/api/tasks', { user_id: user.id, title: 'Not yet', description: null, status: 'pending', completed_at: null });
  });

  it('accepts a 500-character title, a 2000-character description and a null description', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const longest = { title: 't'.repeat(500), description: 'd'.repeat(2000) };

    const longResponse = await api.http.post('/api/tasks').set(bearer(user)).send(longest);
    const nullResponse = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'No description', description: null });

    const long = expectCreated(longResponse, '/api/tasks', { user_id: user.id, ...longest, status: 'pending' });
    expectCreated(nullResponse, '/api/tasks', { user_id: user.id, title: 'No description', description: null, status: 'pending' });
    expect(await readTaskAs(api, user, long.id)).to.deep.equal(long);
  });

  it('counts title length in characters, so 500 emoji are accepted', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const title = '✅🥛'.repeat(250);

    const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title });

    const task = expectCreated(response, '/api/tasks', { user_id: user.id, title, description: null, status: 'pending' });
    expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
  });

  it('makes each task belong to the user whose token created it', async () => {
    const api = await sharedApi();
    const alice = await newUser('alice');
    const bob = await newUser('bob');

    const aliceResponse = await api.http.post('/api/tasks').set(bearer(alice)).send({ title: 'Same title' });
    const bobResponse = await api.http.post('/api/tasks').set(bearer(bob)).send({ title: 'Same title' });

    const aliceTask = expectCreated(aliceResponse, '/api/tasks', { user_id: alice.id, title: 'Same title', description: null, status: 'pending' });
    const bobTask = expectCreated(bobResponse, '/api/tasks', { user_id: bob.id, title: 'Same title', description: null, status: 'pending' });
    expect(aliceTask.id).to.not.equal(bobTask.id);
    expect(await listAllTasksAs(api, alice)).to.deep.equal([aliceTask]);
    expect(await listAllTasksAs(api, bob)).to.deep.equal([bobTask]);
  });

  it('returns 422 when the title is missing, and creates nothing', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.post('/api/tasks').set(bearer(user)).send({ description: 'No title' });

    expectContractViolation(response, '/api/tasks', [{ path: '/body/title', keyword: 'required' }]);
    expect(await listAllTasksAs(api, user)).to.deep.equal([]);
  });

  for (const { problem, body, errors } of invalidTaskFieldCases) {
    it(`returns 422 when ${problem}, and creates nothing`, async () => {
      const api = await sharedApi();
      const user = await newUser();

      const response = await api.http.post('/api/tasks').set(bearer(user)).send(body);

      expectContractViolation(response, '/api/tasks', errors);
      expect(await listAllTasksAs(api, user)).to.deep.equal([]);
    });
  }

  for (const json of ['[{"title": "In an array"}]', 'null', '"Buy milk"', '42', 'true']) {
    it(`returns 422 when the body is the JSON ${json}, which is not an object, and creates nothing`, async () => {
      const api = await sharedApi();
      const user = await newUser();

      const response = await api.http.post('/api/tasks').set(bearer(user)).set('content-type', 'application/json').send(json);

      expectContractViolation(response, '/api/tasks', [{ path: '/body', keyword: 'wrong_type' }]);
      expect(await listAllTasksAs(api, user)).to.deep.equal([]);
    });
  }

  for (const body of disagreeingCompletionBodies) {
    it(`returns 422 when completed is ${body.completed} but status is "${body.status}", and creates nothing`, async () => {
      const api = await sharedApi();
      const user = await newUser();

      const response = await api.http.post('/api/tasks').set(bearer(user)).send(body);

      expectProblem(response, { instance: '/api/tasks', ...completionDisagreement });
      expect(await listAllTasksAs(api, user)).to.deep.equal([]);
    });
  }

  it('names an unknown field called like an Object.prototype member (constructor, toString) as not allowed, not with a 500', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Valid', constructor: 1, toString: 'x' });

    expectContractViolation(response, '/api/tasks', [
      { path: '/body/constructor', keyword: 'not_allowed' },
      { path: '/body/toString', keyword: 'not_allowed' },
    ]);
  });

  it('says what is wrong with each field in a sentence a person can be shown, beside its path and keyword', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http
      .post('/api/tasks')
      .set(bearer(user))
      .send({ title: '   ', description: 'd'.repeat(2001), status: 'done', tags: ['work', 't'.repeat(41)], colour: 'red' });

    expect(response.status).to.equal(422);
    expect(response.body.errors).to.have.deep.members([
      { path: '/body/title', keyword: 'blank', message: 'Title must not be blank.' },
      { path: '/body/description', keyword: 'too_long', message: 'Description must be at most 2000 characters.' },
      { path: '/body/status', keyword: 'not_one_of', message: 'Status must be one of: pending, in_progress, completed.' },
      { path: '/body/tags/1', keyword: 'too_long', message: 'Each tag must be at most 40 characters, spaces around it aside.' },
      { path: '/body/colour', keyword: 'not_allowed', message: '"colour" is not a field this request accepts.' },
    ]);
  });

  it('returns 400 when the body is not parseable JSON, and creates nothing', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.post('/api/tasks').set(bearer(user)).set('content-type', 'application/json').send('{"title": "Buy');

    expectProblem(response, { type: 'malformed-json', instance: '/api/tasks' });
    expect(await listAllTasksAs(api, user)).to.deep.equal([]);
  });

  it('returns 415 when the body is text/plain, and creates nothing', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.post('/api/tasks').set(bearer(user)).set('content-type', 'text/plain').send('Buy milk');

    expectProblem(response, { type: 'unsupported-media-type', instance: '/api/tasks' });
    expect(await listAllTasksAs(api, user)).to.deep.equal([]);
  });

  for (const contentType of [undefined, 'application/json']) {
    it(`returns 415 when there is no body (Content-Type ${contentType ?? 'absent'}), and creates nothing`, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const request = api.http.post('/api/tasks').set(bearer(user)).set('content-length', '0');

      const response = await (contentType ? request.set('content-type', contentType) : request);

      expectProblem(response, { type: 'unsupported-media-type', instance: '/api/tasks' });
      expect(await listAllTasksAs(api, user)).to.deep.equal([]);
    });
  }

  it('returns 413 when the body is larger than 64 KiB, and creates nothing', async () => {
    const api = await sharedApi();
    const user = await newUser();

    const response = await api.http.post('/api/tasks').set(bearer(user)).send(oversizedBody);

    expectProblem(response, { type: 'body-too-large', instance: '/api/tasks' });
    expect(await listAllTasksAs(api, user)).to.deep.equal([]);
  });
});
