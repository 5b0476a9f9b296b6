// The webhook operations (issue 14 item 4). What is delivered to them, signed, is
// test/delivery/webhooks.test.ts.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { newUser, sharedApi, type TestApi, type TestUser } from '../support/api.ts';
import { testDatabaseUrl, withSqlClient } from '../support/database.ts';
import { bearer, expectContractViolation, expectProblem, expectTimestamp, uuidPattern } from '../support/tasks.ts';

type Webhook = {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  failing_since: string | null;
  disabled_at: string | null;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
};

const webhookNotFound = (instance: string) => ({ type: 'webhook-not-found', instance }) as const;

async function createWebhook(api: TestApi, user: TestUser, body: Record<string, unknown> = {}): Promise<Webhook & { secret: string }> {
  const response = await api.http
    .post('/api/webhooks')
    .set(bearer(user))
    .send({ url: `https://hooks.example.com/${randomUUID()}`, events: ['task.created', 'reminder.fired'], ...body });
  expect(response.status, response.text).to.equal(201);
  return response.body;
}

describe('POST /api/webhooks (createWebhook)', () => {
  let api: TestApi;
  let user: TestUser;
  before(async () => {
    api = await sharedApi();
    user = await newUser();
  });

  it('registers the webhook and answers 201 with its signing secret, which is never shown again', async () => {
    const url = `https://hooks.example.com/${randomUUID()}`;
    const response = await api.http.post('/api/webhooks').set(bearer(user)).send({ url, events: ['task.completed', 'reminder.fired'] });
    expect(response.status, response.text).to.equal(201);
    const { secret, ...webhook } = response.body as Webhook & { secret: string };
    expect(secret).to.match(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(webhook).to.deep.equal({
      id: webhook.id,
      url,
      events: ['task.completed', 'reminder.fired'],
      enabled: true,
      failing_since: null,
      disabled_at: null,
      disabled_reason: null,
      created_at: webhook.created_at,
      updated_at: webhook.created_at,
    });
    expect(webhook.id).to.match(uuidPattern);
    expectTimestamp(webhook.created_at);
    expect(response.headers.location).to.equal(`/api/webhooks/${webhook.id}`);
    const read = await api.http.get(`/api/webhooks/${webhook.id}`).set(bearer(user));
    expect(read.body).to.deep.equal(webhook);
    expect(JSON.stringify((await api.http.get('/api/webhooks').set(bearer(user))).body)).not.to.include(secret);
  });

  for (const [label, url] of [
    ['http', 'http://hooks.example.com/x'],
    ['with credentials', 'https://user:pass@hooks.example.com/x'],
    ['on a loopback address', 'https://127.0.0.1/x'],
    ['on the IPv6 loopback', 'https://[::1]/x'],
    ['on localhost', 'https://localhost/x'],
    ['on the cloud metadata address', 'https://169.254.169.254/latest/meta-data'],
    ['on a private address', 'https://10.0.0.7/x'],
    ['on a private address (192.168)', 'https://192.168.1.1/x'],
    ['on an IPv4-mapped private address', 'https://[::ffff:10.0.0.1]/x'],
    ['on an IPv6 unique local address', 'https://[fd00:ec2::254]/x'],
  ] as const) {
    it(`returns 422 for a URL ${label}, and registers nothing`, async () => {
      const owner = await newUser();
      const response = await api.http.post('/api/webhooks').set(bearer(owner)).send({ url, events: ['task.created'] });
      expectProblem(response, { type: 'webhook-url-refused', instance: '/api/webhooks', errors: [{ path: '/body/url', keyword: 'invalid' }] });
      expect((await api.http.get('/api/webhooks').set(bearer(owner))).body).to.deep.equal([]);
    });
  }

  it('returns 422 for an unknown event, no events, or an event twice', async () => {
    const url = 'https://hooks.example.com/x';
    for (const events of [['task.exploded'], [], ['task.created', 'task.created']]) {
      const response = await api.http.post('/api/webhooks').set(bearer(user)).send({ url, events });
      expect(response.status, JSON.stringify(events)).to.equal(422);
      expect(response.body.errors.map((error: { path: string }) => error.path)[0]).to.match(/^\/body\/events/);
    }
  });
});

describe('GET /api/webhooks (listWebhooks)', () => {
  it("lists the caller's webhooks, oldest first, and never another user's", async () => {
    const api = await sharedApi();
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const { secret: _first, ...first } = await createWebhook(api, alice);
    const { secret: _second, ...second } = await createWebhook(api, alice);
    await createWebhook(api, bob);
    const response = await api.http.get('/api/webhooks').set(bearer(alice));
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal([first, second]);
  });
});

describe('GET /api/webhooks/{webhook_id} (getWebhook)', () => {
  it("returns 404 for another user's webhook, as for a missing one", async () => {
    const api = await sharedApi();
    const other = await createWebhook(api, await newUser('owner'));
    const user = await newUser();
    for (const id of [other.id, randomUUID()]) {
      expectProblem(await api.http.get(`/api/webhooks/${id}`).set(bearer(user)), webhookNotFound(`/api/webhooks/${id}`));
    }
  });

  it('returns 422 for an id that is not a UUID', async () => {
    const api = await sharedApi();
    expectContractViolation(await api.http.get('/api/webhooks/nope').set(bearer(await newUser())), '/api/webhooks/nope', [
      { path: '/params/webhook_id', keyword: 'invalid_format' },
    ]);
  });
});

describe('PATCH /api/webhooks/{webhook_id} (updateWebhook)', () => {
  let api: TestApi;
  let user: TestUser;
  before(async () => {
    api = await sharedApi();
    user = await newUser();
  });

  it('changes the URL and events it is sent, and nothing else', async () => {
    const { secret: _, ...webhook } = await createWebhook(api, user);
    const url = `https://hooks.example.com/${randomUUID()}`;
    const response = await api.http.patch(`/api/webhooks/${webhook.id}`).set(bearer(user)).send({ url, events: ['task.deleted'] });
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal({ ...webhook, url, events: ['task.deleted'], updated_at: response.body.updated_at });
    expect(response.body.updated_at >= webhook.updated_at).to.equal(true);
  });

  it('enables a disabled webhook again with {"enabled": true}, clearing its failure clock', async () => {
    const webhook = await createWebhook(api, user);
    await withSqlClient(testDatabaseUrl(), (client) =>
      client.query(`update webhooks set disabled_at = now(), disabled_reason = 'x', failing_since = now() - interval '1 day' where id = $1`, [webhook.id]),
    );
    const disabled = (await api.http.get(`/api/webhooks/${webhook.id}`).set(bearer(user))).body as Webhook;
    expect(disabled).to.include({ enabled: false, disabled_reason: 'x' });
    const response = await api.http.patch(`/api/webhooks/${webhook.id}`).set(bearer(user)).send({ enabled: true });
    expect(response.body).to.include({ enabled: true, disabled_at: null, disabled_reason: null, failing_since: null });
  });

  it('returns 422 for a URL on a private address, and for {"enabled": false}', async () => {
    const webhook = await createWebhook(api, user);
    expectProblem(await api.http.patch(`/api/webhooks/${webhook.id}`).set(bearer(user)).send({ url: 'https://172.16.0.1/x' }), {
      type: 'webhook-url-refused',
      instance: `/api/webhooks/${webhook.id}`,
      errors: [{ path: '/body/url', keyword: 'invalid' }],
    });
    expect((await api.http.patch(`/api/webhooks/${webhook.id}`).set(bearer(user)).send({ enabled: false })).status).to.equal(422);
  });

  it("returns 404 for another user's webhook and leaves it unchanged", async () => {
    const owner = await newUser('owner');
    const { secret: _, ...other } = await createWebhook(api, owner);
    expectProblem(
      await api.http.patch(`/api/webhooks/${other.id}`).set(bearer(user)).send({ url: 'https://evil.example.com/' }),
      webhookNotFound(`/api/webhooks/${other.id}`),
    );
    expect((await api.http.get(`/api/webhooks/${other.id}`).set(bearer(owner))).body).to.deep.equal(other);
  });
});

describe('DELETE /api/webhooks/{webhook_id} (deleteWebhook)', () => {
  it('deletes the webhook (204); then it is 404', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const webhook = await createWebhook(api, user);
    expect((await api.http.delete(`/api/webhooks/${webhook.id}`).set(bearer(user))).status).to.equal(204);
    expectProblem(await api.http.get(`/api/webhooks/${webhook.id}`).set(bearer(user)), webhookNotFound(`/api/webhooks/${webhook.id}`));
  });

  it("returns 404 for another user's webhook and leaves it in place", async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const other = await createWebhook(api, owner);
    expectProblem(await api.http.delete(`/api/webhooks/${other.id}`).set(bearer(await newUser())), webhookNotFound(`/api/webhooks/${other.id}`));
    expect((await api.http.get(`/api/webhooks/${other.id}`).set(bearer(owner))).status).to.equal(200);
  });
});

describe('POST /api/webhooks/{webhook_id}/test (testWebhook)', () => {
  it('queues a webhook.test delivery (202) that the deliveries list shows', async () => {
    const api = await sharedApi();
    const user = await newUser();
    const webhook = await createWebhook(api, user);
    const response = await api.http.post(`/api/webhooks/${webhook.id}/test`).set(bearer(user));
    expect(response.status).to.equal(202);
    expect(response.body).to.deep.equal({
      id: response.body.id,
      event_type: 'webhook.test',
      status: 'pending',
      attempts: 0,
      last_status_code: null,
      last_error: null,
      last_attempt_at: null,
      next_attempt_at: response.body.next_attempt_at,
      created_at: response.body.created_at,
      finished_at: null,
    });
    expectTimestamp(response.body.next_attempt_at);
    expect((await api.http.get(`/api/webhooks/${webhook.id}/deliveries`).set(bearer(user))).body).to.deep.equal([response.body]);
  });

  it("returns 404 for another user's webhook, and queues nothing for it", async () => {
    const api = await sharedApi();
    const owner = await newUser('owner');
    const other = await createWebhook(api, owner);
    expectProblem(await api.http.post(`/api/webhooks/${other.id}/test`).set(bearer(await newUser())), webhookNotFound(`/api/webhooks/${other.id}/test`));
    expect((await api.http.get(`/api/webhooks/${other.id}/deliveries`).set(bearer(owner))).body).to.deep.equal([]);
  });
});

describe('GET /api/webhooks/{webhook_id}/deliveries (listWebhookDeliveries)', () => {
  it("lists the webhook's deliveries newest first: the events of the owner's writes, and only those", async () => {
    const api = await sharedApi();
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const webhook = await createWebhook(api, alice, { events: ['task.created', 'task.deleted'] });
    await createWebhook(api, bob, { events: ['task.created', 'task.deleted'] });
    const task = (await api.http.post('/api/tasks').set(bearer(alice)).send({ title: 'Evented' })).body as { id: string };
    await api.http.post('/api/tasks').set(bearer(bob)).send({ title: "Bob's" });
    await api.http.patch(`/api/tasks/${task.id}`).set(bearer(alice)).send({ title: 'Not subscribed to updates' });
    await api.http.delete(`/api/tasks/${task.id}`).set(bearer(alice));
    const response = await api.http.get(`/api/webhooks/${webhook.id}/deliveries`).set(bearer(alice));
    expect(response.status).to.equal(200);
    expect(response.body.map((delivery: { event_type: string; status: string }) => [delivery.event_type, delivery.status])).to.deep.equal([
      ['task.deleted', 'pending'],
      ['task.created', 'pending'],
    ]);
    const limited = await api.http.get(`/api/webhooks/${webhook.id}/deliveries?limit=1`).set(bearer(alice));
    expect(limited.body).to.deep.equal([response.body[0]]);
  });

  it("returns 404 for another user's webhook", async () => {
    const api = await sharedApi();
    const other = await createWebhook(api, await newUser('owner'));
    expectProblem(
      await api.http.get(`/api/webhooks/${other.id}/deliveries`).set(bearer(await newUser())),
      webhookNotFound(`/api/webhooks/${other.id}/deliveries`),
    );
  });
});
