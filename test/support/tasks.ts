// Helpers the operation tests share: make tasks through the API, and assert whole task bodies and
// whole problem documents, so every test checks every property rather than the one it is about.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Response, Test } from 'supertest';
import type { FieldError, FieldErrorKeyword, Priority, Recurrence, Task, TaskStatus } from '../../src/contract.ts';
import type { ProblemSlug } from '../../src/problems.ts';
import { newUser, sharedApi, type TestApi, type TestUser } from './api.ts';
import { contractProblemTypes } from './contract.ts';

export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** RFC 3339, UTC, millisecond precision: `2026-11-23T18:00:00.000Z`. */
export const timestampPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export const jsonContentType = 'application/json; charset=utf-8';
export const problemContentType = 'application/problem+json; charset=utf-8';

export const missingTokenChallenge = 'Bearer realm="tasks-api"';
export const completionDisagreement = {
  type: 'completion-status-conflict',
  errors: [{ path: '/body/status', keyword: 'conflict' }],
} as const;

/** A JSON body just over the 64 KiB limit, otherwise valid. */
export const oversizedBody = { title: 'Too big', description: 'd'.repeat(64 * 1024) };

const taskProperties = [
  'completed',
  'completed_at',
  'created_at',
  'description',
  'due_at',
  'id',
  'list_id',
  'parent_id',
  'position',
  'priority',
  'recurrence',
  'reminders',
  'status',
  'tags',
  'title',
  'updated_at',
  'user_id',
];


export const bearer = (user: TestUser) => ({ authorization: user.authorization });

/** An id no task has (random UUIDs do not collide). */
export const unknownTaskId = () => randomUUID();

/** Waits a few milliseconds, so two writes cannot share a (millisecond) timestamp. */
export const pause = (ms = 3) => new Promise((resolve) => setTimeout(resolve, ms));

/** Asserts an RFC 3339 ms UTC timestamp that denotes a real instant, optionally within [from, to] ms. */
export function expectTimestamp(value: unknown, window?: { readonly from: number; readonly to: number }): string {
  expect(value).to.be.a('string').and.match(timestampPattern);
  const instant = Date.parse(value as string);
  expect(new Date(instant).toISOString()).to.equal(value);
  // The database rounds to the millisecond, so allow one either side of the window.
  if (window) expect(instant).to.be.within(window.from - 1, window.to + 1);
  return value as string;
}

export type ExpectedTask = {
  readonly id?: string;
  readonly user_id: string;
  readonly title: string;
  readonly description: string | null;
  readonly status: TaskStatus;
  /** When given, must be equal; otherwise only its shape (and its consistency with status) is checked. */
  readonly completed_at?: string | null;
  readonly created_at?: string;
  readonly updated_at?: string;
  /** Default: the defaults of a task created without them (medium, no tags, no due date). */
  readonly priority?: Priority;
  readonly tags?: readonly string[];
  readonly due_at?: string | null;
  /** Default: the inbox, at the top level; the position is only checked to be a key unless given. */
  readonly list_id?: string | null;
  readonly parent_id?: string | null;
  readonly position?: string;
  /** Default: null (the task does not recur). */
  readonly recurrence?: Recurrence | null;
  /** Default: none. */
  readonly reminders?: Task['reminders'];
};

/** A manual-order position: an opaque fractional-indexing key. */
export const positionPattern = /^[0-9A-Za-z]{2,100}$/;

/**
 * Asserts a whole task: exactly the contract's properties, `id` a UUID, the given values (priority,
 * tags and due_at default to a new task's), `completed` and `completed_at` consistent with
 * `status`, and RFC 3339 ms UTC timestamps with created_at ≤ updated_at.
 */
export function expectTask(actual: unknown, expected: ExpectedTask): Task {
  expect(actual).to.be.an('object');
  const task = actual as Task;
  expect(Object.keys(task).sort()).to.deep.equal(taskProperties);
  expect(task.id).to.be.a('string').and.match(uuidPattern);
  if (expected.id !== undefined) expect(task.id).to.equal(expected.id);
  expect(task.user_id).to.equal(expected.user_id);
  expect(task.title).to.equal(expected.title);
  expect(task.description).to.equal(expected.description);
  expect(task.status).to.equal(expected.status);
  expect(task.completed).to.equal(expected.status === 'completed');
  if (expected.status === 'completed') expectTimestamp(task.completed_at);
  else expect(task.completed_at).to.equal(null);
  if (expected.completed_at !== undefined) expect(task.completed_at).to.equal(expected.completed_at);
  expectTimestamp(task.created_at);
  expectTimestamp(task.updated_at);
  expect(task.updated_at >= task.created_at, 'updated_at is not before created_at').to.equal(true);
  if (expected.created_at !== undefined) expect(task.created_at).to.equal(expected.created_at);
  if (expected.updated_at !== undefined) expect(task.updated_at).to.equal(expected.updated_at);
  expect(task.priority).to.equal(expected.priority ?? 'medium');
  expect(task.tags).to.deep.equal(expected.tags ?? []);
  expect(task.due_at).to.equal(expected.due_at ?? null);
  if (task.due_at !== null) expectTimestamp(task.due_at);
  expect(task.list_id).to.equal(expected.list_id ?? null);
  expect(task.parent_id).to.equal(expected.parent_id ?? null);
  expect(task.position).to.be.a('string').and.match(positionPattern);
  if (expected.position !== undefined) expect(task.position).to.equal(expected.position);
  expect(task.recurrence).to.deep.equal(expected.recurrence ?? null);
  expect(task.reminders).to.deep.equal(expected.reminders ?? []);
  return task;
}

/** Asserts a 200 JSON response whose body is the whole expected task. */
export function expectTaskResponse(response: Response, expected: ExpectedTask): Task {
  expect(response.status, response.text).to.equal(200);
  expect(response.headers['content-type']).to.equal(jsonContentType);
  return expectTask(response.body, expected);
}

/** A field error as a test states it: where, and the stable keyword; its message is for people. */
export type ExpectedFieldError = { readonly path: string; readonly keyword: FieldErrorKeyword };

export type ExpectedProblem = {
  /** The problem type's slug (`task-not-found`): the cause under test. Its status and title are the contract's. */
  readonly type: ProblemSlug;
  readonly instance: string;
  readonly errors?: readonly ExpectedFieldError[];
};

/**
 * Asserts a whole RFC 9457 problem response: the status and title the contract gives its type,
 * the media type and every member of the body. `detail` is for people: present, but its wording
 * is not part of the contract.
 */
export function expectProblem(response: Response, expected: ExpectedProblem): void {
  const problemType = contractProblemTypes.get(expected.type);
  expect(problemType, `the contract lists ${expected.type}`).to.not.equal(undefined);
  expect(response.status, response.text).to.equal(problemType!.status);
  expect(response.headers['content-type']).to.equal(problemContentType);
  expect(response.body.detail, 'detail').to.be.a('string').and.not.equal('');
  const errors = response.body.errors as FieldError[] | undefined;
  for (const error of errors ?? []) {
    // A sentence: a capital (or a quoted name) first, a full stop last.
    expect(error.message, `message of ${JSON.stringify(error)}`).to.be.a('string').and.match(/^["A-Z].*\.$/);
  }
  expect(response.body).to.deep.equal({
    type: `/problems/${expected.type}`,
    title: problemType!.title,
    status: problemType!.status,
    detail: response.body.detail,
    instance: expected.instance,
    ...(expected.errors ? { errors: expected.errors.map((error, index) => ({ ...error, message: errors?.[index]?.message })) } : {}),
    request_id: requestIdOf(response),
  });
}

/** The response's `X-Request-Id`, which every response has and every problem body repeats. */
export function requestIdOf(response: Response): string {
  const requestId = response.headers['x-request-id'];
  expect(requestId, 'X-Request-Id header').to.be.a('string').and.match(/^[\w.:/+=@-]{1,128}$/);
  return requestId as string;
}

/** 401 for a request without a token, challenge included. */
export function expectMissingToken(response: Response, instance: string): void {
  expectProblem(response, { type: 'token-missing', instance });
  expect(response.headers['www-authenticate']).to.equal(missingTokenChallenge);
}

export function expectTaskNotFound(response: Response, instance: string): void {
  expectProblem(response, { type: 'task-not-found', instance });
  expect(response.headers['www-authenticate']).to.equal(undefined);
}

/** 422 from the contract validator, with exactly these field errors. */
export function expectContractViolation(response: Response, instance: string, errors: readonly ExpectedFieldError[]): void {
  expectProblem(response, { type: 'validation-failed', instance, errors });
}

/** Creates a task through POST /api/tasks and returns it (asserting only that it was created). */
export async function createTaskAs(
  api: TestApi,
  user: TestUser,
  body: Record<string, unknown> = { title: `Task ${randomUUID()}` },
): Promise<Task> {
  const response = await api.http.post('/api/tasks').set(bearer(user)).send(body);
  expect(response.status, response.text).to.equal(201);
  return response.body as Task;
}

/** A task created before the test acts on it, a few milliseconds in the past (so a write moves updated_at). */
export async function existingTask(api: TestApi, user: TestUser, body: Record<string, unknown> = {}): Promise<Task> {
  const task = await createTaskAs(api, user, { title: 'Original', description: 'Original description', ...body });
  await pause();
  return task;
}

/**
 * Declares, inside an operation's describe, the three ways a body can be unreadable for a write
 * on an existing task (not JSON: 400; not application/json: 415; over the limit: 413), each
 * asserting the whole problem and that the task is unchanged.
 */
export function itRefusesUnreadableBodies(method: 'put' | 'patch', pathOf: (taskId: string) => string): void {
  const cases = [
    {
      name: 'returns 400 when the body is not parseable JSON, and leaves the task unchanged',
      send: (request: Test) => request.set('content-type', 'application/json').send('{"title": tru}'),
      type: 'malformed-json',
    },
    {
      name: 'returns 415 when the body is text/plain, and leaves the task unchanged',
      send: (request: Test) => request.set('content-type', 'text/plain').send('title=x'),
      type: 'unsupported-media-type',
    },
    {
      name: 'returns 413 when the body is larger than 64 KiB, and leaves the task unchanged',
      send: (request: Test) => request.send(oversizedBody),
      type: 'body-too-large',
    },
  ] as const;
  for (const { name, send, type } of cases) {
    it(name, async () => {
      const api = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user);

      const response = await send(api.http[method](pathOf(task.id)).set(bearer(user)));

      expectProblem(response, { type, instance: pathOf(task.id) });
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
    });
  }
}

/** Creates `count` tasks one after another, each strictly later than the last; oldest first. */
export async function createTasksInOrder(api: TestApi, user: TestUser, count: number): Promise<Task[]> {
  const tasks: Task[] = [];
  for (let index = 0; index < count; index += 1) {
    if (index > 0) await pause();
    tasks.push(await createTaskAs(api, user, { title: `Task ${index + 1}` }));
  }
  return tasks;
}

/** Reads a task back as its owner, asserting it is there. */
export async function readTaskAs(api: TestApi, user: TestUser, taskId: string): Promise<Task> {
  const response = await api.http.get(`/api/tasks/${taskId}`).set(bearer(user));
  expect(response.status, response.text).to.equal(200);
  return response.body as Task;
}

/** Every task a user has (the contract allows 200 a page), newest first. */
export async function listAllTasksAs(api: TestApi, user: TestUser): Promise<Task[]> {
  const response = await api.http.get('/api/tasks?limit=200').set(bearer(user));
  expect(response.status, response.text).to.equal(200);
  expect(response.headers.link, 'the test user has more than one page of tasks').to.equal(undefined);
  return response.body as Task[];
}

/** The URL of a response's `rel="next"` link, if it has one. */
export function nextLinkOf(response: Response): string | undefined {
  return /<([^>]+)>; rel="next"/.exec(response.headers.link ?? '')?.[1];
}

/** A problem body without `instance` and `request_id`, to compare two problems about different requests. */
export function withoutInstance(body: unknown): Record<string, unknown> {
  // The request id differs between any two requests by design; it says nothing about the task.
  const { instance: _instance, request_id: _requestId, ...rest } = body as Record<string, unknown>;
  return rest;
}

/** A 201's `Location` must be exactly the task's path under `collectionPath`. */
export function expectCreated(response: Response, collectionPath: string, expected: ExpectedTask): Task {
  expect(response.status, response.text).to.equal(201);
  expect(response.headers['content-type']).to.equal(jsonContentType);
  const task = expectTask(response.body, expected);
  expect(response.headers.location).to.equal(`${collectionPath}/${task.id}`);
  return task;
}

export type InvalidBodyCase = {
  /** Completes "returns 422 when …". */
  readonly problem: string;
  readonly body: Record<string, unknown>;
  readonly errors: readonly ExpectedFieldError[];
};

/**
 * Bodies every task write (create, replace, update) refuses with 422, each with a valid title
 * unless the title is the point, so only the named field is wrong.
 */
export const invalidTaskFieldCases: readonly InvalidBodyCase[] = [
  {
    problem: 'the title is only whitespace',
    body: { title: '   ' },
    errors: [{ path: '/body/title', keyword: 'blank' }],
  },
  {
    problem: 'the title is empty',
    body: { title: '' },
    errors: [{ path: '/body/title', keyword: 'blank' }],
  },
  {
    problem: 'the title is 501 characters long',
    body: { title: 't'.repeat(501) },
    errors: [{ path: '/body/title', keyword: 'too_long' }],
  },
  {
    problem: 'the title contains a NUL character',
    body: { title: 'Buy\u0000milk' },
    errors: [{ path: '/body/title', keyword: 'contains_nul' }],
  },
  {
    problem: 'the description is 2001 characters long',
    body: { title: 'Valid', description: 'd'.repeat(2001) },
    errors: [{ path: '/body/description', keyword: 'too_long' }],
  },
  {
    problem: 'the description contains a NUL character',
    body: { title: 'Valid', description: 'a\u0000b' },
    errors: [{ path: '/body/description', keyword: 'contains_nul' }],
  },
  {
    problem: 'a field the contract does not define is sent',
    body: { title: 'Valid', colour: 'red' },
    errors: [{ path: '/body/colour', keyword: 'not_allowed' }],
  },
  {
    problem: 'a read-only field (user_id) is sent',
    body: { title: 'Valid', user_id: 'someone-else' },
    errors: [{ path: '/body/user_id', keyword: 'not_allowed' }],
  },
  {
    problem: 'the title is a number and completed is a string',
    body: { title: 5, completed: 'yes' },
    errors: [
      { path: '/body/title', keyword: 'wrong_type' },
      { path: '/body/completed', keyword: 'wrong_type' },
    ],
  },
  {
    problem: 'the description is a number',
    body: { title: 'Valid', description: 5 },
    errors: [{ path: '/body/description', keyword: 'wrong_type' }],
  },
  {
    problem: 'the status is not one of the three',
    body: { title: 'Valid', status: 'done' },
    errors: [{ path: '/body/status', keyword: 'not_one_of' }],
  },
  {
    problem: 'the priority is not one of the three',
    body: { title: 'Valid', priority: 'urgent' },
    errors: [{ path: '/body/priority', keyword: 'not_one_of' }],
  },
  {
    problem: 'tags is a string, not an array',
    body: { title: 'Valid', tags: 'work' },
    errors: [{ path: '/body/tags', keyword: 'wrong_type' }],
  },
  {
    problem: 'there are 21 tags',
    body: { title: 'Valid', tags: Array.from({ length: 21 }, (_, index) => `tag${index}`) },
    errors: [{ path: '/body/tags', keyword: 'too_many' }],
  },
  {
    problem: 'a tag is only whitespace',
    body: { title: 'Valid', tags: ['work', '   '] },
    errors: [{ path: '/body/tags/1', keyword: 'blank' }],
  },
  {
    problem: 'a tag is 41 characters long once trimmed',
    body: { title: 'Valid', tags: [` ${'t'.repeat(41)} `] },
    errors: [{ path: '/body/tags/0', keyword: 'too_long' }],
  },
  {
    problem: 'a tag contains a NUL character',
    body: { title: 'Valid', tags: ['a\u0000b'] },
    errors: [{ path: '/body/tags/0', keyword: 'contains_nul' }],
  },
  {
    problem: 'a tag is a number',
    body: { title: 'Valid', tags: [5] },
    errors: [{ path: '/body/tags/0', keyword: 'wrong_type' }],
  },
  {
    problem: 'due_at is not a date-time',
    body: { title: 'Valid', due_at: 'tomorrow' },
    errors: [{ path: '/body/due_at', keyword: 'invalid_format' }],
  },
  {
    problem: 'due_at has no time zone',
    body: { title: 'Valid', due_at: '2026-12-01T17:00:00' },
    errors: [{ path: '/body/due_at', keyword: 'invalid_format' }],
  },
  {
    problem: 'due_at is in year 0 (which PostgreSQL cannot store)',
    body: { title: 'Valid', due_at: '0000-01-01T00:00:00Z' },
    errors: [{ path: '/body/due_at', keyword: 'too_large' }],
  },
  {
    problem: 'due_at is in year 1 with an offset that would carry it into year 0',
    body: { title: 'Valid', due_at: '0001-01-01T00:00:00+01:00' },
    errors: [{ path: '/body/due_at', keyword: 'too_large' }],
  },
  {
    problem: 'due_at is in year 9999',
    body: { title: 'Valid', due_at: '9999-12-31T23:00:00-05:00' },
    errors: [{ path: '/body/due_at', keyword: 'too_large' }],
  },
  {
    problem: 'due_at is a number',
    body: { title: 'Valid', due_at: 1796000000000 },
    errors: [{ path: '/body/due_at', keyword: 'wrong_type' }],
  },
];

/** `completed` and `status` sent together but disagreeing: the handler's 422. */
export const disagreeingCompletionBodies: readonly Record<string, unknown>[] = [
  { title: 'Valid', completed: true, status: 'pending' },
  { title: 'Valid', completed: true, status: 'in_progress' },
  { title: 'Valid', completed: false, status: 'completed' },
];
