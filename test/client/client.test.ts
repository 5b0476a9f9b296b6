// Every operation of the contract through the typed client (src/client/index.ts) against the API
// listening on a real port. The table is keyed by operationId and typed from generated/, so an
// operation added to the contract without a case here fails `tsc`, and a case whose call no
// longer fits the contract fails it too.
import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createTasksClient, type ProblemType, type TasksClient } from '../../src/client/index.ts';
import type { OperationId } from '../../src/contract.ts';
import { hs256Token, newUser, startTestApi, testVapid, type TestApi, type TestUser } from '../support/api.ts';
import { contract, contractOperations } from '../support/contract.ts';
import { existingTask, expectTask } from '../support/tasks.ts';

type Case = (client: TasksClient, user: TestUser) => Promise<void>;

/** What a browser's PushSubscription.toJSON() gives (a fresh P-256 key and auth secret). */
const browserSubscription = () => ({
  endpoint: `https://push.example.com/${randomUUID()}`,
  expirationTime: null,
  keys: { p256dh: createECDH('prime256v1').generateKeys().toString('base64url'), auth: randomBytes(16).toString('base64url') },
});

// Every problem repeats the response's X-Request-Id as request_id.
const notFound = (instance: string, response: globalThis.Response, detail: unknown) => ({
  type: '/problems/task-not-found' satisfies ProblemType,
  title: 'Task not found',
  status: 404,
  detail,
  instance,
  request_id: response.headers.get('x-request-id'),
});

describe('the typed client', function () {
  let api: TestApi;
  before(async function () {
    api = await startTestApi({ vapid: testVapid });
  });
  after(async function () {
    await api?.close();
  });

  const clientFor = (user: TestUser) => createTasksClient({ baseUrl: api.url, getToken: async () => user.token });

  const cases: Record<OperationId, Case> = {
    listTasks: async (client, user) => {
      const task = await existingTask(api, user, { title: 'Listed' });
      const { data, response } = await client.GET('/api/tasks', { params: { query: { limit: 5 } } });
      expect(response.status).to.equal(200);
      expect(data).to.deep.equal([task]);
    },
    createTask: async (client, user) => {
      const { data, response } = await client.POST('/api/tasks', { body: { title: 'Created', status: 'in_progress' } });
      expect(response.status).to.equal(201);
      const task = expectTask(data, { user_id: user.id, title: 'Created', description: null, status: 'in_progress' });
      expect(response.headers.get('location')).to.equal(`/api/tasks/${task.id}`);
    },
    getTask: async (client, user) => {
      const task = await existingTask(api, user);
      const { data } = await client.GET('/api/tasks/{task_id}', { params: { path: { task_id: task.id } } });
      expect(data).to.deep.equal(task);
    },
    replaceTask: async (client, user) => {
      const task = await existingTask(api, user, { description: 'old' });
      const { data } = await client.PUT('/api/tasks/{task_id}', { params: { path: { task_id: task.id } }, body: { title: 'Replaced' } });
      expectTask(data, { id: task.id, user_id: user.id, title: 'Replaced', description: null, status: 'pending', created_at: task.created_at });
    },
    updateTask: async (client, user) => {
      const task = await existingTask(api, user, { description: 'kept' });
      const { data } = await client.PATCH('/api/tasks/{task_id}', { params: { path: { task_id: task.id } }, body: { title: 'Updated' } });
      expectTask(data, { id: task.id, user_id: user.id, title: 'Updated', description: 'kept', status: 'pending', created_at: task.created_at });
    },
    deleteTask: async (client, user) => {
      const task = await existingTask(api, user);
      const deleted = await client.DELETE('/api/tasks/{task_id}', { params: { path: { task_id: task.id } } });
      expect([deleted.response.status, deleted.data, deleted.error]).to.deep.equal([204, undefined, undefined]);
      const { error, response } = await client.GET('/api/tasks/{task_id}', { params: { path: { task_id: task.id } } });
      expect(response.status).to.equal(404);
      expect(error).to.deep.equal(notFound(`/api/tasks/${task.id}`, response, error?.detail));
    },
    completeTask: async (client, user) => {
      const task = await existingTask(api, user);
      // No body toggles.
      const { data } = await client.PATCH('/api/tasks/{task_id}/complete', { params: { path: { task_id: task.id } } });
      expectTask(data, { id: task.id, user_id: user.id, title: task.title, description: task.description, status: 'completed' });
      const set = await client.PATCH('/api/tasks/{task_id}/complete', { params: { path: { task_id: task.id } }, body: { completed: false } });
      expectTask(set.data, { id: task.id, user_id: user.id, title: task.title, description: task.description, status: 'pending' });
    },
    listTaskChanges: async (client, user) => {
      const task = await existingTask(api, user);
      const { data } = await client.GET('/api/tasks/changes', { params: { query: { limit: 10 } } });
      expect(data?.changes).to.deep.equal([{ id: task.id, deleted: false, task }]);
      expect(data?.has_more).to.equal(false);
    },
    getTaskSummary: async (client, user) => {
      await existingTask(api, user, { status: 'in_progress' });
      const { data } = await client.GET('/api/tasks/summary', { params: { query: { tz: 'Europe/Paris' } } });
      expect(data).to.deep.equal({
        time_zone: 'Europe/Paris',
        total: 1,
        by_status: { pending: 0, in_progress: 1, completed: 0 },
        overdue: 0,
        due_today: 0,
      });
    },
    listDueReminders: async (client, user) => {
      const fireAt = new Date(Date.now() + 3_600_000).toISOString();
      const task = await existingTask(api, user, { reminders: [{ remind_at: fireAt }] });
      const { data } = await client.GET('/api/reminders/due', { params: { query: { until: fireAt } } });
      expect(data).to.deep.equal([{ reminder_id: task.reminders[0]!.id, fire_at: fireAt, task: { id: task.id, title: task.title, due_at: null } }]);
    },
    getPushPublicKey: async (client) => {
      const { data } = await client.GET('/api/push/public-key');
      expect(data).to.deep.equal({ public_key: testVapid.publicKey });
    },
    createPushSubscription: async (client) => {
      const { data, response } = await client.POST('/api/push-subscriptions', { body: browserSubscription() });
      expect(response.status).to.equal(201);
      expect(response.headers.get('location')).to.equal(`/api/push-subscriptions/${data!.id}`);
    },
    listPushSubscriptions: async (client) => {
      const { data: created } = await client.POST('/api/push-subscriptions', { body: browserSubscription() });
      const { data } = await client.GET('/api/push-subscriptions');
      expect(data).to.deep.equal([created]);
    },
    deletePushSubscription: async (client) => {
      const { data: created } = await client.POST('/api/push-subscriptions', { body: browserSubscription() });
      const { response } = await client.DELETE('/api/push-subscriptions/{subscription_id}', { params: { path: { subscription_id: created!.id } } });
      expect(response.status).to.equal(204);
    },
    listWebhooks: async (client) => {
      const { data: created } = await client.POST('/api/webhooks', { body: { url: 'https://hooks.example.com/a', events: ['task.created'] } });
      const { secret, ...webhook } = created!;
      expect(secret).to.match(/^whsec_/);
      const { data } = await client.GET('/api/webhooks');
      expect(data).to.deep.equal([webhook]);
    },
    createWebhook: async (client) => {
      const { data, response } = await client.POST('/api/webhooks', { body: { url: 'https://hooks.example.com/b', events: ['reminder.fired'] } });
      expect(response.status).to.equal(201);
      expect(response.headers.get('location')).to.equal(`/api/webhooks/${data!.id}`);
    },
    getWebhook: async (client) => {
      const { data: created } = await client.POST('/api/webhooks', { body: { url: 'https://hooks.example.com/c', events: ['task.deleted'] } });
      const { data } = await client.GET('/api/webhooks/{webhook_id}', { params: { path: { webhook_id: created!.id } } });
      expect(data?.url).to.equal('https://hooks.example.com/c');
    },
    updateWebhook: async (client) => {
      const { data: created } = await client.POST('/api/webhooks', { body: { url: 'https://hooks.example.com/d', events: ['task.deleted'] } });
      const { data } = await client.PATCH('/api/webhooks/{webhook_id}', { params: { path: { webhook_id: created!.id } }, body: { events: ['task.updated'] } });
      expect(data?.events).to.deep.equal(['task.updated']);
    },
    deleteWebhook: async (client) => {
      const { data: created } = await client.POST('/api/webhooks', { body: { url: 'https://hooks.example.com/e', events: ['task.deleted'] } });
      const { response } = await client.DELETE('/api/webhooks/{webhook_id}', { params: { path: { webhook_id: created!.id } } });
      expect(response.status).to.equal(204);
    },
    testWebhook: async (client) => {
      const { data: created } = await client.POST('/api/webhooks', { body: { url: 'https://hooks.example.com/f', events: ['task.deleted'] } });
      const { data, response } = await client.POST('/api/webhooks/{webhook_id}/test', { params: { path: { webhook_id: created!.id } } });
      expect(response.status).to.equal(202);
      expect(data).to.include({ event_type: 'webhook.test', status: 'pending', attempts: 0 });
    },
    listWebhookDeliveries: async (client) => {
      const { data: created } = await client.POST('/api/webhooks', { body: { url: 'https://hooks.example.com/g', events: ['task.deleted'] } });
      const { data: ping } = await client.POST('/api/webhooks/{webhook_id}/test', { params: { path: { webhook_id: created!.id } } });
      const { data } = await client.GET('/api/webhooks/{webhook_id}/deliveries', { params: { path: { webhook_id: created!.id } } });
      expect(data).to.deep.equal([ping]);
    },
    clearCompletedTasks: async (client, user) => {
      await existingTask(api, user, { completed: true });
      const { data } = await client.POST('/api/tasks/clear-completed');
      expect(data).to.deep.equal({ deleted: 1 });
    },
    moveTask: async (client, user) => {
      const first = await existingTask(api, user, { title: 'First' });
      const second = await existingTask(api, user, { title: 'Second' });
      // Newest first: second, first. Dropping the second after the first reverses them.
      const { data, response } = await client.POST('/api/tasks/{task_id}/move', {
        params: { path: { task_id: second.id } },
        body: { after_id: first.id },
      });
      expect(response.status).to.equal(200);
      expect(data?.position! > first.position).to.equal(true);
    },
    listLists: async (client) => {
      const created = await client.POST('/api/lists', { body: { name: 'Listed', color: 'teal' } });
      const { data } = await client.GET('/api/lists');
      expect(data).to.deep.equal([created.data]);
    },
    createList: async (client) => {
      const { data, response } = await client.POST('/api/lists', { body: { name: ' Groceries ' } });
      expect(response.status).to.equal(201);
      expect(data?.name).to.equal('Groceries');
      expect(response.headers.get('location')).to.equal(`/api/lists/${data?.id}`);
    },
    getList: async (client) => {
      const created = await client.POST('/api/lists', { body: { name: 'Read me' } });
      const { data } = await client.GET('/api/lists/{list_id}', { params: { path: { list_id: created.data!.id } } });
      expect(data).to.deep.equal(created.data);
    },
    updateList: async (client) => {
      const created = await client.POST('/api/lists', { body: { name: 'Old' } });
      const { data } = await client.PATCH('/api/lists/{list_id}', { params: { path: { list_id: created.data!.id } }, body: { name: 'New', color: 'red' } });
      expect([data?.name, data?.color]).to.deep.equal(['New', 'red']);
    },
    deleteList: async (client) => {
      const created = await client.POST('/api/lists', { body: { name: 'Doomed' } });
      const { response } = await client.DELETE('/api/lists/{list_id}', {
        params: { path: { list_id: created.data!.id }, query: { move_tasks_to: 'inbox' } },
      });
      expect(response.status).to.equal(204);
    },
    moveList: async (client) => {
      const first = await client.POST('/api/lists', { body: { name: 'First' } });
      const second = await client.POST('/api/lists', { body: { name: 'Second' } });
      await client.POST('/api/lists/{list_id}/move', { params: { path: { list_id: first.data!.id } }, body: {} });
      const { data } = await client.GET('/api/lists');
      expect(data?.map((list) => list.name)).to.deep.equal(['First', 'Second']);
      expect(second.response.status).to.equal(201);
    },
    listTaskCompletions: async (client, user) => {
      const task = await existingTask(api, user);
      await client.PATCH('/api/tasks/{task_id}/complete', { params: { path: { task_id: task.id } } });
      const { data } = await client.GET('/api/tasks/{task_id}/completions', { params: { path: { task_id: task.id }, query: { limit: 10 } } });
      expect(data?.map((completion) => [completion.task_id, completion.occurrence_due_at])).to.deep.equal([[task.id, null]]);
    },
    undoTaskCompletion: async (client, user) => {
      const task = await existingTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', recurrence: { rule: 'FREQ=WEEKLY' } });
      await client.PATCH('/api/tasks/{task_id}/complete', { params: { path: { task_id: task.id } } });
      const history = await client.GET('/api/tasks/{task_id}/completions', { params: { path: { task_id: task.id } } });
      const { data } = await client.DELETE('/api/tasks/{task_id}/completions/{completion_id}', {
        params: { path: { task_id: task.id, completion_id: history.data![0]!.id } },
      });
      expect(data?.due_at).to.equal('2030-01-07T08:00:00.000Z');
    },
    skipTaskOccurrence: async (client, user) => {
      const task = await existingTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', recurrence: { rule: 'FREQ=WEEKLY' } });
      const { data } = await client.POST('/api/tasks/{task_id}/skip', { params: { path: { task_id: task.id } } });
      expect(data?.due_at).to.equal('2030-01-14T08:00:00.000Z');
    },
    listTaskOccurrences: async (client, user) => {
      const task = await existingTask(api, user, { due_at: '2030-01-07T08:00:00.000Z', recurrence: { rule: 'FREQ=WEEKLY' } });
      const { data } = await client.GET('/api/tasks/{task_id}/occurrences', { params: { path: { task_id: task.id }, query: { limit: 2 } } });
      expect(data).to.deep.equal({ occurrences: ['2030-01-07T08:00:00.000Z', '2030-01-14T08:00:00.000Z'] });
    },
    listCompletions: async (client, user) => {
      const task = await existingTask(api, user);
      await client.PATCH('/api/tasks/{task_id}/complete', { params: { path: { task_id: task.id } } });
      const { data } = await client.GET('/api/completions', { params: { query: { since: '2000-01-01T00:00:00.000Z' } } });
      expect(data?.map((completion) => completion.task_id)).to.deep.equal([task.id]);
    },
    listUserTasks: async (client, user) => {
      const task = await existingTask(api, user);
      const { data } = await client.GET('/api/{user_id}/tasks', { params: { path: { user_id: user.id } } });
      expect(data).to.deep.equal([task]);
    },
    createUserTask: async (client, user) => {
      const { data, response } = await client.POST('/api/{user_id}/tasks', { params: { path: { user_id: user.id } }, body: { title: 'Scoped' } });
      const task = expectTask(data, { user_id: user.id, title: 'Scoped', description: null, status: 'pending' });
      expect(response.headers.get('location')).to.equal(`/api/${user.id}/tasks/${task.id}`);
    },
    getUserTask: async (client, user) => {
      const task = await existingTask(api, user);
      const { data } = await client.GET('/api/{user_id}/tasks/{task_id}', { params: { path: { user_id: user.id, task_id: task.id } } });
      expect(data).to.deep.equal(task);
    },
    replaceUserTask: async (client, user) => {
      const task = await existingTask(api, user);
      const { data } = await client.PUT('/api/{user_id}/tasks/{task_id}', {
        params: { path: { user_id: user.id, task_id: task.id } },
        body: { title: 'Replaced', description: 'new' },
      });
      expectTask(data, { id: task.id, user_id: user.id, title: 'Replaced', description: 'new', status: 'pending' });
    },
    updateUserTask: async (client, user) => {
      const task = await existingTask(api, user);
      const { data } = await client.PATCH('/api/{user_id}/tasks/{task_id}', {
        params: { path: { user_id: user.id, task_id: task.id } },
        body: { status: 'in_progress' },
      });
      expectTask(data, { id: task.id, user_id: user.id, title: task.title, description: task.description, status: 'in_progress' });
    },
    deleteUserTask: async (client, user) => {
      const task = await existingTask(api, user);
      const { response } = await client.DELETE('/api/{user_id}/tasks/{task_id}', { params: { path: { user_id: user.id, task_id: task.id } } });
      expect(response.status).to.equal(204);
    },
    completeUserTask: async (client, user) => {
      const task = await existingTask(api, user);
      const { data } = await client.PATCH('/api/{user_id}/tasks/{task_id}/complete', {
        params: { path: { user_id: user.id, task_id: task.id } },
        body: { completed: true },
      });
      expectTask(data, { id: task.id, user_id: user.id, title: task.title, description: task.description, status: 'completed' });
    },
    health: async (client) => {
      const { data } = await client.GET('/health');
      expect(data).to.deep.equal({ status: 'ok' });
    },
    ready: async (client) => {
      const { data } = await client.GET('/ready');
      expect(data).to.deep.equal({ status: 'ok' });
    },
    docsPortal: async (client) => {
      const { data, response } = await client.GET('/docs', { parseAs: 'text' });
      expect(response.headers.get('content-type')).to.equal('text/html; charset=utf-8');
      expect(data).to.contain('<div id="redoc"></div>');
    },
    docsScript: async (client) => {
      const { data, response } = await client.GET('/docs/redoc.standalone.js', { parseAs: 'text' });
      expect(response.headers.get('content-type')).to.equal('text/javascript; charset=utf-8');
      expect(data).to.contain('export{RedocStandalone,hydrate,init}');
    },
    contractYaml: async (client) => {
      const { data, response } = await client.GET('/openapi.yaml', { parseAs: 'text' });
      expect(response.headers.get('content-type')).to.equal('application/yaml; charset=utf-8');
      expect(data).to.match(/^openapi: 3\.1\.0\n/);
    },
    contractJson: async (client) => {
      const { data } = await client.GET('/openapi.json');
      expect(data).to.deep.equal(contract);
    },
    problemTypePage: async (client) => {
      const { data, response } = await client.GET('/problems/{slug}', { params: { path: { slug: 'task-not-found' } }, parseAs: 'text' });
      expect(response.headers.get('content-type')).to.equal('text/html; charset=utf-8');
      expect(data).to.contain('<code>/problems/task-not-found</code>');
    },
  };

  it('has a case for every operation in the contract', function () {
    expect(Object.keys(cases).sort()).to.deep.equal(contractOperations.map((operation) => operation.operationId).sort());
  });

  for (const [operationId, run] of Object.entries(cases)) {
    it(`calls ${operationId} with the contract's types`, async function () {
      const user = await newUser();
      await run(clientFor(user), user);
    });
  }

  describe('authentication', function () {
    it('sends no Authorization header when getToken resolves to null, and returns the 401 as a typed problem without asking again', async function () {
      const sent: (string | null)[] = [];
      let calls = 0;
      const client = createTasksClient({
        baseUrl: api.url,
        getToken: async () => {
          calls += 1;
          return null;
        },
        fetch: async (request) => {
          sent.push(request.headers.get('authorization'));
          return fetch(request);
        },
      });
      const { data, error, response } = await client.GET('/api/tasks');
      expect(data).to.equal(undefined);
      expect(response.status).to.equal(401);
      expect(error).to.deep.equal({
        type: '/problems/token-missing' satisfies ProblemType,
        title: 'Access token missing',
        status: 401,
        detail: error?.detail,
        instance: '/api/tasks',
        request_id: response.headers.get('x-request-id'),
      });
      // No retry: without a token to refresh, a second request could only be refused again.
      expect([calls, sent]).to.deep.equal([1, [null]]);
    });

    it('retries once with a fresh token after a 401 and re-sends the body', async function () {
      const user = await newUser();
      const expired = await hs256Token(user.id, { expiresIn: -120 });
      const tokens = [expired, user.token];
      const sent: string[] = [];
      const client = createTasksClient({
        baseUrl: api.url,
        getToken: async () => tokens.shift() ?? null,
        fetch: async (request) => {
          sent.push(`${request.headers.get('authorization')} ${await request.clone().text()}`);
          return fetch(request);
        },
      });
      const title = `Retried ${randomUUID()}`;
      const { data, response } = await client.POST('/api/tasks', { body: { title } });
      expect(response.status).to.equal(201);
      expectTask(data, { user_id: user.id, title, description: null, status: 'pending' });
      const body = JSON.stringify({ title });
      expect(sent).to.deep.equal([`Bearer ${expired} ${body}`, `Bearer ${user.token} ${body}`]);
    });

    it('reads the refused first answer to its end before retrying, rather than cancelling it', async function () {
      const user = await newUser();
      const expired = await hs256Token(user.id, { expiresIn: -120 });
      const tokens = [expired, user.token];
      const bodies: (() => string)[] = [];
      const client = createTasksClient({
        baseUrl: api.url,
        getToken: async () => tokens.shift() ?? null,
        fetch: async (request) => {
          const response = await fetch(request);
          // The same body, recording whether it was read to its end or cancelled.
          const reader = response.body!.getReader();
          let outcome = 'untouched';
          const body = new ReadableStream<Uint8Array>({
            async pull(controller) {
              const { done, value } = await reader.read();
              if (done) {
                outcome = 'read to the end';
                controller.close();
              } else controller.enqueue(value);
            },
            async cancel(reason) {
              outcome = 'cancelled';
              await reader.cancel(reason);
            },
          });
          bodies.push(() => outcome);
          return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
        },
      });
      const { response } = await client.GET('/api/tasks');
      expect(response.status).to.equal(200);
      expect(bodies.map((outcome) => outcome())).to.deep.equal(['read to the end', 'read to the end']);
    });

    it('retries only once when the fresh token is refused too', async function () {
      const user = await newUser();
      let calls = 0;
      const sent: string[] = [];
      const client = createTasksClient({
        baseUrl: api.url,
        getToken: async () => {
          calls += 1;
          return hs256Token(user.id, { secret: 'not-the-secret-the-api-verifies-with-0123' });
        },
        fetch: async (request) => {
          sent.push(request.method);
          return fetch(request);
        },
      });
      const { error, response } = await client.GET('/api/tasks/{task_id}', { params: { path: { task_id: randomUUID() } } });
      expect(response.status).to.equal(401);
      expect(error?.status).to.equal(401);
      expect([calls, sent]).to.deep.equal([2, ['GET', 'GET']]);
    });

    it('does not retry other errors', async function () {
      const user = await newUser();
      let calls = 0;
      const client = createTasksClient({
        baseUrl: api.url,
        getToken: async () => {
          calls += 1;
          return user.token;
        },
      });
      const taskId = randomUUID();
      const { error, response } = await client.GET('/api/tasks/{task_id}', { params: { path: { task_id: taskId } } });
      expect(error).to.deep.equal(notFound(`/api/tasks/${taskId}`, response, error?.detail));
      expect(calls).to.equal(1);
    });
  });
});
