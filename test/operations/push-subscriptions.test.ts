// The Web Push operations (issue 14 item 3): the VAPID public key, and a browser's subscriptions.
// Delivery to them is test/delivery/push.test.ts.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { newUser, sharedApi, startTestApi, testVapid, type TestApi, type TestUser } from '../support/api.ts';
import { startPushService, type PushService } from '../support/push-service.ts';
import { bearer, expectContractViolation, expectProblem, expectTimestamp, uuidPattern } from '../support/tasks.ts';

const pushNotConfigured = (instance: string) => ({ type: 'push-not-configured', instance }) as const;

describe('GET /api/push/public-key (getPushPublicKey)', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi({ vapid: testVapid });
  });
  after(async () => api?.close());

  it('answers the VAPID public key the browser subscribes with', async () => {
    const response = await api.http.get('/api/push/public-key').set(bearer(await newUser()));
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal({ public_key: testVapid.publicKey });
  });

  it('returns 404 when the server runs without Web Push', async () => {
    const withoutPush = await sharedApi();
    expectProblem(await withoutPush.http.get('/api/push/public-key').set(bearer(await newUser())), pushNotConfigured('/api/push/public-key'));
  });
});

/** For one describe: an API with Web Push on (loopback endpoints allowed) and a push service whose browsers subscribe. */
function withPushApi(): { readonly api: TestApi; readonly service: PushService } {
  const started = {} as { api: TestApi; service: PushService };
  before(async () => {
    started.api = await startTestApi({ vapid: testVapid, allowLoopback: true });
    started.service = await startPushService();
  });
  after(async () => {
    await started.api?.close();
    await started.service?.close();
  });
  return started;
}

describe('POST /api/push-subscriptions (createPushSubscription)', () => {
  const push = withPushApi();

  it("stores the browser's PushSubscription.toJSON() and answers 201 with its id and Location", async () => {
    const user = await newUser();
    const browser = push.service.subscribe(`create-${randomUUID()}`);
    const response = await push.api.http.post('/api/push-subscriptions').set(bearer(user)).send(browser.subscription);
    expect(response.status, response.text).to.equal(201);
    expect(Object.keys(response.body).sort()).to.deep.equal(['created_at', 'endpoint', 'id']);
    expect(response.body.id).to.match(uuidPattern);
    expect(response.body.endpoint).to.equal(browser.endpoint);
    expectTimestamp(response.body.created_at);
    expect(response.headers.location).to.equal(`/api/push-subscriptions/${response.body.id}`);
  });

  it('answers 200 with the same subscription when the browser subscribes the same endpoint again', async () => {
    const user = await newUser();
    const browser = push.service.subscribe(`again-${randomUUID()}`);
    const first = await push.api.http.post('/api/push-subscriptions').set(bearer(user)).send(browser.subscription);
    const second = await push.api.http.post('/api/push-subscriptions').set(bearer(user)).send(browser.subscription);
    expect(second.status).to.equal(200);
    expect(second.body).to.deep.equal(first.body);
    expect((await push.api.http.get('/api/push-subscriptions').set(bearer(user))).body).to.deep.equal([first.body]);
  });

  it('returns 422 for an endpoint that is not https, and for keys that are not what a browser sends', async () => {
    const strict = await startTestApi({ vapid: testVapid });
    try {
      const user = await newUser();
      const browser = push.service.subscribe(`strict-${randomUUID()}`);
      expectProblem(await strict.http.post('/api/push-subscriptions').set(bearer(user)).send(browser.subscription), {
        type: 'push-endpoint-refused',
        instance: '/api/push-subscriptions',
        errors: [{ path: '/body/endpoint', keyword: 'invalid' }],
      });
      const badKeys = { ...browser.subscription, endpoint: 'https://push.example.com/x', keys: { p256dh: 'AAAA', auth: 'AAAA' } };
      expectProblem(await strict.http.post('/api/push-subscriptions').set(bearer(user)).send(badKeys), {
        type: 'push-keys-invalid',
        instance: '/api/push-subscriptions',
        errors: [
          { path: '/body/keys/p256dh', keyword: 'invalid' },
          { path: '/body/keys/auth', keyword: 'invalid' },
        ],
      });
      expect((await strict.http.get('/api/push-subscriptions').set(bearer(user))).body).to.deep.equal([]);
    } finally {
      await strict.close();
    }
  });

  it('returns 422 without keys', async () => {
    const response = await push.api.http.post('/api/push-subscriptions').set(bearer(await newUser())).send({ endpoint: 'https://push.example.com/x' });
    expectContractViolation(response, '/api/push-subscriptions', [{ path: '/body/keys', keyword: 'required' }]);
  });

  it('returns 404 when the server runs without Web Push', async () => {
    const browser = push.service.subscribe(`off-${randomUUID()}`);
    const withoutPush = await sharedApi();
    expectProblem(
      await withoutPush.http.post('/api/push-subscriptions').set(bearer(await newUser())).send(browser.subscription),
      pushNotConfigured('/api/push-subscriptions'),
    );
  });
});

describe('GET /api/push-subscriptions (listPushSubscriptions)', () => {
  const push = withPushApi();

  it("lists the caller's subscriptions, oldest first, and never another user's", async () => {
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const subscribe = async (user: TestUser, name: string) =>
      (await push.api.http.post('/api/push-subscriptions').set(bearer(user)).send(push.service.subscribe(`${name}-${randomUUID()}`).subscription)).body;
    const first = await subscribe(alice, 'phone');
    const second = await subscribe(alice, 'laptop');
    await subscribe(bob, 'bobs');
    const response = await push.api.http.get('/api/push-subscriptions').set(bearer(alice));
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal([first, second]);
  });
});

describe('DELETE /api/push-subscriptions/{subscription_id} (deletePushSubscription)', () => {
  const push = withPushApi();
  let user: TestUser;
  before(async () => {
    user = await newUser();
  });

  const subscribe = async (owner: TestUser) =>
    (await push.api.http.post('/api/push-subscriptions').set(bearer(owner)).send(push.service.subscribe(`delete-${randomUUID()}`).subscription)).body as { id: string };

  it('deletes the subscription (204), which then is gone from the list', async () => {
    const subscription = await subscribe(user);
    const response = await push.api.http.delete(`/api/push-subscriptions/${subscription.id}`).set(bearer(user));
    expect(response.status).to.equal(204);
    expect(response.text).to.equal('');
    expect((await push.api.http.get('/api/push-subscriptions').set(bearer(user))).body).to.deep.equal([]);
  });

  it("returns 404 for another user's subscription, as for a missing one, and leaves it in place", async () => {
    const owner = await newUser('owner');
    const subscription = await subscribe(owner);
    for (const id of [subscription.id, randomUUID()]) {
      expectProblem(await push.api.http.delete(`/api/push-subscriptions/${id}`).set(bearer(user)), {
        type: 'push-subscription-not-found',
        instance: `/api/push-subscriptions/${id}`,
      });
    }
    expect((await push.api.http.get('/api/push-subscriptions').set(bearer(owner))).body).to.have.length(1);
  });

  it('returns 422 for an id that is not a UUID', async () => {
    const response = await push.api.http.delete('/api/push-subscriptions/not-a-uuid').set(bearer(user));
    expectContractViolation(response, '/api/push-subscriptions/not-a-uuid', [{ path: '/params/subscription_id', keyword: 'invalid_format' }]);
  });
});
