// Property-based conformance: for every operation the contract has (read from the contract, not
// listed here), fast-check generates requests, valid and invalid (parameters and bodies from the
// contract's schemas, or not), sent as user A, as user B, with no token or a garbage one. For every
// response: no 5xx; it conforms to the contract according to Ajv 2020 over the contract (not the
// server's own validator); and it never carries the other user's data. Bounded in runs and time,
// seeded: FC_SEED=<n> replays a failing run's requests.
import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import fc from 'fast-check';
import { newUser, startTestApi, testVapid, type TestApi, type TestUser } from '../support/api.ts';
import {
  contractOperations,
  contractViolations,
  schemaAt,
  validatorAt,
  validatorFor,
  type ContractOperation,
  type ContractParameter,
  type JsonSchema,
} from '../support/contract.ts';

const runsPerOperation = Number(process.env.FC_RUNS ?? 25);
const timePerOperationMs = 20_000;
const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));

type Json = Record<string, any>;
type Actor = 'A' | 'B' | 'anonymous' | 'forged';

// ---- values from the contract's schemas ----------------------------------------------------

/** Values the schema accepts (filtered through Ajv, so patterns and cross-field limits hold). */
function validValue(schema: JsonSchema): fc.Arbitrary<unknown> {
  const validate = validatorFor(schema);
  return valueOf(schema).filter((value) => validate(value));
}

function valueOf(schema: Json, depth = 0): fc.Arbitrary<unknown> {
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((type: string) => valueOf({ ...schema, type }, depth)));
  if (Array.isArray(schema.oneOf ?? schema.anyOf)) return fc.oneof(...(schema.oneOf ?? schema.anyOf).map((s: Json) => valueOf(s, depth)));
  if (Array.isArray(schema.allOf)) return valueOf(Object.assign({}, ...schema.allOf), depth);
  switch (schema.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000 });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000, noNaN: true });
    case 'string': {
      if (schema.format === 'uuid') return fc.uuid();
      if (schema.format === 'date-time') {
        return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
      }
      if (schema.format === 'date') return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
      const minLength = schema.minLength ?? 0;
      const maxLength = schema.maxLength ?? 1000;
      // Strings a random generator would almost never hit (a URL, a key in base64url, an ISO 8601
      // duration) are generated to fit; the Ajv filter in validValue still has the last word.
      if (schema.format === 'uri') return fc.webUrl({ validSchemes: ['https'] }).filter((url) => url.length <= maxLength);
      if (typeof schema.pattern === 'string' && /^\^(P|\[A-Za-z0-9_-\])/.test(schema.pattern)) {
        // fast-check cannot generate lookaheads; without them it generates a superset, which Ajv then filters.
        const generable = new RegExp(schema.pattern.replaceAll(/\(\?=[^)]*\)/g, ''));
        return fc.stringMatching(generable).filter((text) => text.length >= minLength && text.length <= maxLength);
      }
      return fc.oneof(
        { weight: 5, arbitrary: fc.string({ minLength, maxLength: Math.min(maxLength, Math.max(minLength, 30)), unit: 'grapheme' }) },
        { weight: 1, arbitrary: fc.constant('x'.repeat(maxLength)) },
      );
    }
    case 'array': {
      const items = schema.items ? valueOf(schema.items, depth + 1) : fc.jsonValue();
      return fc.array(items, { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 5, 5) });
    }
    case 'object':
    default: {
      const properties: Json = schema.properties ?? {};
      const required: string[] = schema.required ?? [];
      const record = fc.record(
        Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, valueOf(property, depth + 1)])),
        { requiredKeys: required.filter((name) => name in properties) },
      );
      return record as fc.Arbitrary<unknown>;
    }
  }
}

/** Anything at all that JSON can carry, plus values the schema's type allows but its limits do not. */
const invalidJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }),
);

// ---- requests ------------------------------------------------------------------------------

/** A parameter value chosen symbolically; the live ids it may stand for are known only when it is sent. */
type ParameterChoice =
  | { kind: 'own-task' }
  | { kind: 'other-task' }
  | { kind: 'own-list' }
  | { kind: 'other-list' }
  | { kind: 'own-completion' }
  | { kind: 'other-completion' }
  | { kind: 'own-subscription' }
  | { kind: 'other-subscription' }
  | { kind: 'own-webhook' }
  | { kind: 'other-webhook' }
  | { kind: 'self' }
  | { kind: 'other-user' }
  | { kind: 'omit' }
  | { kind: 'value'; value: unknown };

type GeneratedRequest = {
  actor: Actor;
  parameters: Record<string, ParameterChoice>;
  body: { kind: 'omit' } | { kind: 'json'; value: unknown } | { kind: 'raw'; text: string };
  /** For each id a body may carry (list_id, parent_id, after_id, before_id): one of the actor's, one of the other user's, or as generated. */
  bodyIds: Record<BodyIdField, 'own' | 'other' | 'as-generated'>;
};

const bodyIdFields = ['list_id', 'parent_id', 'after_id', 'before_id'] as const;
type BodyIdField = (typeof bodyIdFields)[number];

const garbageString = fc.string({ minLength: 1, maxLength: 40 }).filter((text) => text !== '.' && text !== '..');
const headerSafeGarbage = fc.stringMatching(/^[\x21-\x7e]{1,40}$/);

function parameterChoice(parameter: ContractParameter): fc.Arbitrary<ParameterChoice> {
  const value = (arbitrary: fc.Arbitrary<unknown>) => arbitrary.map((v): ParameterChoice => ({ kind: 'value', value: v }));
  const garbage = parameter.in === 'header' ? headerSafeGarbage : garbageString;
  const choices: fc.WeightedArbitrary<ParameterChoice>[] = [];
  if (parameter.in === 'path' && parameter.name === 'task_id') {
    choices.push(
      { weight: 7, arbitrary: fc.constant({ kind: 'own-task' }) },
      { weight: 2, arbitrary: fc.constant({ kind: 'other-task' }) },
      { weight: 1, arbitrary: value(fc.uuid()) },
    );
  } else if (parameter.name === 'list_id' || parameter.name === 'move_tasks_to') {
    // Not validValue: random strings almost never match `inbox` or a UUID, and its filter would spin.
    choices.push(
      { weight: 5, arbitrary: fc.constant({ kind: 'own-list' }) },
      { weight: 2, arbitrary: fc.constant({ kind: 'other-list' }) },
      { weight: 2, arbitrary: value(fc.oneof(fc.constant('inbox'), fc.uuid())) },
    );
  } else if (parameter.name === 'parent_id') {
    choices.push(
      { weight: 5, arbitrary: fc.constant({ kind: 'own-task' }) },
      { weight: 2, arbitrary: fc.constant({ kind: 'other-task' }) },
      { weight: 2, arbitrary: value(fc.oneof(fc.constant('none'), fc.uuid())) },
    );
  } else if (parameter.in === 'path' && parameter.name === 'completion_id') {
    choices.push(
      { weight: 7, arbitrary: fc.constant({ kind: 'own-completion' }) },
      { weight: 2, arbitrary: fc.constant({ kind: 'other-completion' }) },
      { weight: 1, arbitrary: value(fc.uuid()) },
    );
  } else if (parameter.in === 'path' && parameter.name === 'subscription_id') {
    choices.push(
      { weight: 7, arbitrary: fc.constant({ kind: 'own-subscription' }) },
      { weight: 2, arbitrary: fc.constant({ kind: 'other-subscription' }) },
      { weight: 1, arbitrary: value(fc.uuid()) },
    );
  } else if (parameter.in === 'path' && parameter.name === 'webhook_id') {
    choices.push(
      { weight: 7, arbitrary: fc.constant({ kind: 'own-webhook' }) },
      { weight: 2, arbitrary: fc.constant({ kind: 'other-webhook' }) },
      { weight: 1, arbitrary: value(fc.uuid()) },
    );
  } else if (parameter.in === 'path' && parameter.name === 'user_id') {
    choices.push({ weight: 7, arbitrary: fc.constant({ kind: 'self' }) }, { weight: 2, arbitrary: fc.constant({ kind: 'other-user' }) });
  } else {
    choices.push({ weight: 6, arbitrary: value(validValue(parameter.schema)) });
  }
  if (!parameter.required) choices.push({ weight: 3, arbitrary: fc.constant({ kind: 'omit' }) });
  choices.push({ weight: 1, arbitrary: value(garbage) });
  return fc.oneof(...choices);
}

function requestArbitrary(operation: ContractOperation): fc.Arbitrary<GeneratedRequest> {
  const actor: fc.Arbitrary<Actor> = fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom<Actor>('A', 'B') },
    { weight: 1, arbitrary: fc.constantFrom<Actor>('anonymous', 'forged') },
  );
  const parameters = fc.record(
    Object.fromEntries(operation.parameters.map((parameter) => [`${parameter.in}:${parameter.name}`, parameterChoice(parameter)])),
  ) as fc.Arbitrary<Record<string, ParameterChoice>>;
  const bodyChoices: fc.WeightedArbitrary<GeneratedRequest['body']>[] = [];
  if (operation.requestBody) {
    bodyChoices.push(
      { weight: 6, arbitrary: validValue(schemaAt(operation.requestBody.schemaPointer)).map((value) => ({ kind: 'json' as const, value })) },
      { weight: 2, arbitrary: invalidJson.map((value) => ({ kind: 'json' as const, value })) },
      { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((text) => ({ kind: 'raw' as const, text })) },
    );
  }
  if (!operation.requestBody?.required) bodyChoices.push({ weight: operation.requestBody ? 1 : 10, arbitrary: fc.constant({ kind: 'omit' as const }) });
  const bodyIds = fc.record(
    Object.fromEntries(bodyIdFields.map((field) => [field, fc.constantFrom('own' as const, 'other' as const, 'as-generated' as const)])),
  ) as fc.Arbitrary<GeneratedRequest['bodyIds']>;
  return fc.record({ actor, parameters, body: fc.oneof(...bodyChoices), bodyIds });
}

/** The happy path every run includes: user A, their own task, the contract's own example body. */
function exampleRequest(operation: ContractOperation): GeneratedRequest {
  const parameters: Record<string, ParameterChoice> = {};
  for (const parameter of operation.parameters) {
    const key = `${parameter.in}:${parameter.name}`;
    if (parameter.name === 'task_id') parameters[key] = { kind: 'own-task' };
    else if (parameter.name === 'list_id' && parameter.in === 'path') parameters[key] = { kind: 'own-list' };
    else if (parameter.name === 'completion_id') parameters[key] = { kind: 'own-completion' };
    else if (parameter.name === 'subscription_id') parameters[key] = { kind: 'own-subscription' };
    else if (parameter.name === 'webhook_id') parameters[key] = { kind: 'own-webhook' };
    else if (parameter.name === 'user_id') parameters[key] = { kind: 'self' };
    // Optional parameters are left out; a required one gets the contract's documented example.
    else if (parameter.required && parameter.example !== undefined) parameters[key] = { kind: 'value', value: parameter.example };
    else parameters[key] = { kind: 'omit' };
  }
  const bodyIds = { list_id: 'own', parent_id: 'own', after_id: 'own', before_id: 'own' } as const;
  if (!operation.requestBody) return { actor: 'A', parameters, body: { kind: 'omit' }, bodyIds };
  const media: Json = schemaAt(operation.requestBody.schemaPointer.replace(/\/schema$/, ''));
  const example = media.example ?? Object.values<Json>(media.examples ?? {})[0]?.value;
  if (example === undefined || !validatorAt(operation.requestBody.schemaPointer)(example)) {
    throw new Error(`${operation.operationId}: the contract's request body example is missing or does not fit its schema`);
  }
  return { actor: 'A', parameters, body: { kind: 'json', value: example }, bodyIds };
}

// ---- the run -------------------------------------------------------------------------------

describe('conformance: generated requests for every operation of the contract', function () {
  this.timeout(contractOperations.length * (timePerOperationMs + 10_000));
  let api: TestApi;
  const users = {} as Record<'A' | 'B', TestUser>;
  /** Live task ids of each user, and every string that is theirs and nobody else's. */
  const liveTasks: Record<'A' | 'B', string[]> = { A: [], B: [] };
  const liveLists: Record<'A' | 'B', string[]> = { A: [], B: [] };
  const liveSubscriptions: Record<'A' | 'B', string[]> = { A: [], B: [] };
  const liveWebhooks: Record<'A' | 'B', string[]> = { A: [], B: [] };
  const secrets: Record<'A' | 'B', Set<string>> = { A: new Set(), B: new Set() };
  const successes = new Map<string, number>();
  const statusCounts = new Map<number, number>();

  before(async function () {
    api = await startTestApi({ vapid: testVapid });
    for (const name of ['A', 'B'] as const) {
      users[name] = await newUser(`conformance-${name}`);
      secrets[name].add(users[name].id);
      for (let i = 0; i < 2; i += 1) await createTaskFor(name);
      for (let i = 0; i < 2; i += 1) await createListFor(name);
    }
    console.log(`      fast-check seed ${seed} (replay: FC_SEED=${seed} make integration SPEC=test/conformance)`);
  });

  after(async function () {
    const tally = [...statusCounts].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`);
    console.log(`      responses by status: ${tally.join(' ')}`);
    await api?.close();
  });

  async function createTaskFor(name: 'A' | 'B'): Promise<string> {
    const title = `${name}'s private task ${randomUUID()}`;
    const response = await fetch(`${api.url}/api/tasks`, {
      method: 'POST',
      headers: { authorization: users[name].authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ title }),
    });
    expect(response.status).to.equal(201);
    const task = (await response.json()) as { id: string };
    liveTasks[name].push(task.id);
    secrets[name].add(task.id).add(title);
    return task.id;
  }

  async function createListFor(name: 'A' | 'B'): Promise<string> {
    const listName = `${name}'s list ${randomUUID()}`;
    const response = await fetch(`${api.url}/api/lists`, {
      method: 'POST',
      headers: { authorization: users[name].authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ name: listName }),
    });
    expect(response.status).to.equal(201);
    const list = (await response.json()) as { id: string };
    liveLists[name].push(list.id);
    secrets[name].add(list.id).add(listName);
    return list.id;
  }

  /**
   * An id for a body field: a list for list_id, and for a list's neighbours (moveList); a task
   * otherwise. Never the id the path names (moving an item next to itself is a refusal, not a path).
   */
  async function bodyId(field: BodyIdField, whose: 'A' | 'B', path: string): Promise<string> {
    const isList = field === 'list_id' || (path.startsWith('/api/lists/') && field !== 'parent_id');
    const live = isList ? liveLists[whose] : liveTasks[whose];
    const found = live.find((id) => !path.includes(id));
    if (found) return found;
    return isList ? createListFor(whose) : createTaskFor(whose);
  }

  const otherOf = (name: 'A' | 'B') => (name === 'A' ? 'B' : 'A');
  /** A recurring task (issue 13's operations need one to succeed), due in the future. */
  async function createRecurringTaskFor(name: 'A' | 'B'): Promise<string> {
    const title = `${name}'s private recurring task ${randomUUID()}`;
    const response = await fetch(`${api.url}/api/tasks`, {
      method: 'POST',
      headers: { authorization: users[name].authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ title, due_at: '2030-01-07T08:00:00Z', recurrence: { rule: 'FREQ=DAILY', time_zone: 'Europe/Paris' } }),
    });
    expect(response.status).to.equal(201);
    const task = (await response.json()) as { id: string };
    liveTasks[name].push(task.id);
    secrets[name].add(task.id).add(title);
    return task.id;
  }
  async function createSubscriptionFor(name: 'A' | 'B'): Promise<string> {
    const endpoint = `https://push.example.com/${name}-${randomUUID()}`;
    const keys = { p256dh: createECDH('prime256v1').generateKeys().toString('base64url'), auth: randomBytes(16).toString('base64url') };
    const response = await fetch(`${api.url}/api/push-subscriptions`, {
      method: 'POST',
      headers: { authorization: users[name].authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ endpoint, keys }),
    });
    expect(response.status).to.equal(201);
    const { id } = (await response.json()) as { id: string };
    liveSubscriptions[name].push(id);
    secrets[name].add(id).add(endpoint);
    return id;
  }

  async function createWebhookFor(name: 'A' | 'B'): Promise<string> {
    const url = `https://hooks.example.com/${name}-${randomUUID()}`;
    const response = await fetch(`${api.url}/api/webhooks`, {
      method: 'POST',
      headers: { authorization: users[name].authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ url, events: ['task.created'] }),
    });
    expect(response.status).to.equal(201);
    const { id, secret } = (await response.json()) as { id: string; secret: string };
    liveWebhooks[name].push(id);
    secrets[name].add(id).add(url).add(secret);
    return id;
  }

  /** Completes one of `name`'s tasks and returns the id of that completion (a secret of theirs). */
  async function completionOf(name: 'A' | 'B', taskId: string | undefined): Promise<string> {
    const task = taskId !== undefined && liveTasks[name].includes(taskId) ? taskId : await createRecurringTaskFor(name);
    const headers = { authorization: users[name].authorization };
    const completed = await fetch(`${api.url}/api/tasks/${task}/complete`, {
      method: 'PATCH',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ completed: true }),
    });
    expect(completed.status).to.equal(200);
    const response = await fetch(`${api.url}/api/tasks/${task}/completions?limit=1`, { headers });
    const [latest] = (await response.json()) as { id: string }[];
    secrets[name].add(latest!.id);
    return latest!.id;
  }

  /** Operations that succeed only on a recurring task: their happy path gets a fresh one. */
  const needsRecurringTask = new Set(['skipTaskOccurrence', 'listTaskOccurrences', 'undoTaskCompletion']);

  async function resolve(choice: ParameterChoice, actor: Actor, operation: ContractOperation, taskId?: string): Promise<string | undefined> {
    const self = actor === 'A' || actor === 'B' ? actor : 'A';
    switch (choice.kind) {
      case 'own-completion':
        return completionOf(self, taskId);
      case 'other-completion':
        return completionOf(otherOf(self), undefined);
      case 'omit':
        return undefined;
      case 'self':
        return users[self].id;
      case 'other-user':
        return users[otherOf(self)].id;
      case 'own-task':
        if (needsRecurringTask.has(operation.operationId)) return createRecurringTaskFor(self);
        return liveTasks[self].at(-1) ?? (await createTaskFor(self));
      case 'other-task':
        return liveTasks[otherOf(self)].at(-1) ?? (await createTaskFor(otherOf(self)));
      case 'own-list':
        return liveLists[self].at(-1) ?? (await createListFor(self));
      case 'other-list':
        return liveLists[otherOf(self)].at(-1) ?? (await createListFor(otherOf(self)));
      case 'own-webhook':
        return liveWebhooks[self].at(-1) ?? (await createWebhookFor(self));
      case 'other-webhook':
        return liveWebhooks[otherOf(self)].at(-1) ?? (await createWebhookFor(otherOf(self)));
      case 'own-subscription':
        return liveSubscriptions[self].at(-1) ?? (await createSubscriptionFor(self));
      case 'other-subscription':
        return liveSubscriptions[otherOf(self)].at(-1) ?? (await createSubscriptionFor(otherOf(self)));
      case 'value':
        return typeof choice.value === 'string' ? choice.value : JSON.stringify(choice.value);
    }
  }

  async function send(operation: ContractOperation, generated: GeneratedRequest) {
    let path = operation.path;
    const query = new URLSearchParams();
    const headers: Record<string, string> = {};
    let taskId: string | undefined;
    for (const parameter of operation.parameters) {
      // task_id comes before completion_id, whose "own completion" is one of that task's.
      const value = await resolve(generated.parameters[`${parameter.in}:${parameter.name}`]!, generated.actor, operation, taskId);
      if (parameter.name === 'task_id') taskId = value;
      if (value === undefined) continue;
      if (parameter.in === 'path') path = path.replace(`{${parameter.name}}`, encodeURIComponent(value));
      else if (parameter.in === 'query') query.set(parameter.name, value);
      else if (parameter.in === 'header') headers[parameter.name] = value;
    }
    if (generated.actor === 'A' || generated.actor === 'B') headers.authorization = users[generated.actor].authorization;
    if (generated.actor === 'forged') headers.authorization = 'Bearer not.a.jwt';
    let body: string | undefined;
    if (generated.body.kind === 'json' && generated.body.value !== null && typeof generated.body.value === 'object' && !Array.isArray(generated.body.value)) {
      const self = generated.actor === 'B' ? 'B' : 'A';
      const value = { ...(generated.body.value as Json) };
      for (const field of bodyIdFields) {
        const choice = generated.bodyIds[field];
        if (typeof value[field] !== 'string' || choice === 'as-generated') continue;
        value[field] = await bodyId(field, choice === 'own' ? self : otherOf(self), path);
      }
      generated = { ...generated, body: { kind: 'json', value } };
    }
    if (generated.body.kind !== 'omit') {
      headers['content-type'] = 'application/json';
      body = generated.body.kind === 'json' ? JSON.stringify(generated.body.value) : generated.body.text;
    }
    const url = `${api.url}${path}${query.size ? `?${query}` : ''}`;
    const response = await fetch(url, { method: operation.method, headers, body, signal: AbortSignal.timeout(15_000) });
    return { url, requestText: `${decodeURIComponent(url)} ${body ?? ''}`, status: response.status, headers: response.headers, body: await response.text() };
  }

  /** Task objects in a JSON body (one task, or a list of them). */
  function tasksIn(body: string): { id: string; user_id: string; title: string }[] {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return [];
    }
    const candidates = Array.isArray(parsed) ? parsed : [parsed];
    return candidates.filter((item): item is { id: string; user_id: string; title: string } =>
      Boolean(item) && typeof item === 'object' && typeof (item as Json).id === 'string' && typeof (item as Json).user_id === 'string',
    );
  }

  for (const operation of contractOperations) {
    it(`${operation.operationId}: no 5xx, every response conforms to the contract, no other user's data`, async function () {
      const property = fc.asyncProperty(requestArbitrary(operation), async (generated) => {
        const sent = await send(operation, generated);
        statusCounts.set(sent.status, (statusCounts.get(sent.status) ?? 0) + 1);
        const context = `${operation.method} ${sent.url} as ${generated.actor} → ${sent.status} ${sent.body.slice(0, 300)}`;
        expect(sent.status, `server error: ${context}`).to.be.below(500);
        const violations = contractViolations(operation, sent);
        expect(violations, `not the contract (${violations.join('; ')}): ${context}`).to.deep.equal([]);
        // Another user's id, task ids and titles never appear, unless the request itself carried
        // them (a 404's `instance` names the path it was asked for).
        const others: readonly ('A' | 'B')[] = generated.actor === 'A' || generated.actor === 'B' ? [otherOf(generated.actor)] : ['A', 'B'];
        for (const other of others) {
          const leaked = [...secrets[other]].filter((secret) => sent.body.includes(secret) && !sent.requestText.includes(secret));
          expect(leaked, `${other}'s data in a response to ${generated.actor}: ${context}`).to.deep.equal([]);
        }
        if (sent.status < 300) {
          successes.set(operation.operationId, (successes.get(operation.operationId) ?? 0) + 1);
          if (generated.actor === 'A' || generated.actor === 'B') {
            for (const task of tasksIn(sent.body)) {
              expect(task.user_id, `a task of someone else: ${context}`).to.equal(users[generated.actor].id);
              if (!liveTasks[generated.actor].includes(task.id)) liveTasks[generated.actor].push(task.id);
              secrets[generated.actor].add(task.id);
            }
          }
          // Deletions the URL does not name (a list's tasks, clear-completed): start afresh.
          if ((operation.operationId === 'deleteList' || operation.operationId === 'clearCompletedTasks') && generated.actor !== 'anonymous' && generated.actor !== 'forged') {
            liveTasks[generated.actor] = [];
          }
          if (operation.method === 'DELETE') {
            for (const name of ['A', 'B'] as const) liveTasks[name] = liveTasks[name].filter((id) => !sent.url.includes(id));
            for (const name of ['A', 'B'] as const) liveLists[name] = liveLists[name].filter((id) => !sent.url.includes(id));
            for (const name of ['A', 'B'] as const) {
              liveTasks[name] = liveTasks[name].filter((id) => !sent.url.includes(id));
              liveSubscriptions[name] = liveSubscriptions[name].filter((id) => !sent.url.includes(id));
              liveWebhooks[name] = liveWebhooks[name].filter((id) => !sent.url.includes(id));
            }
          }
        }
      });
      await fc.assert(property, {
        seed,
        numRuns: runsPerOperation,
        examples: [[exampleRequest(operation)]],
        interruptAfterTimeLimit: timePerOperationMs,
        markInterruptAsFailure: false,
      });
      // The happy path (the contract's example, as its owner) must have succeeded at least once,
      // or the property only ever exercised refusals.
      expect(
        successes.get(operation.operationId) ?? 0,
        `no 2xx for ${operation.operationId}: only refusals were exercised (exampleRequest builds the happy path from the contract's examples)`,
      ).to.be.greaterThan(0);
    });
  }
});
