// Reminders pushed to browsers (issue 14 items 2, 3, 6), end to end in one process: the API takes
// the task and the subscription, the delivery worker fires the reminder and pushes it, and a push
// service on loopback (test/support/push-service.ts) checks the VAPID JWT and decrypts the payload
// as the browser would. Polls and backoff are scaled to milliseconds; nothing sleeps for minutes.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { pushTtlSeconds } from '../../src/push.ts';
import { newUser, startTestApi, testVapid, type TestApi, type TestUser } from '../support/api.ts';
import { eventually, useDeliveryWorker } from '../support/delivery.ts';
import { createMigratedDatabase, withSqlClient } from '../support/database.ts';
import { startPushService, type Browser, type PushService } from '../support/push-service.ts';
import { bearer, createTaskAs } from '../support/tasks.ts';

const metricsToken = 'metrics-token-for-push-tests-0123';
const secondsFromNow = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

describe('reminders delivered by Web Push', function () {
  this.timeout(60_000);
  let databaseUrl: string;
  let api: TestApi;
  let service: PushService;
  const worker = useDeliveryWorker(() => api, { vapid: testVapid });

  before(async () => {
    // A database of their own: the worker claims every due reminder it can see.
    databaseUrl = await createMigratedDatabase('push');
    api = await startTestApi({ databaseUrl, vapid: testVapid, allowLoopback: true, metricsToken });
    service = await startPushService();
  });
  after(async () => {
    await api?.close();
    await service?.close();
  });

  const subscribe = async (user: TestUser, name: string): Promise<{ browser: Browser; id: string }> => {
    const browser = service.subscribe(`${name}-${randomUUID()}`);
    const response = await api.http.post('/api/push-subscriptions').set(bearer(user)).send(browser.subscription);
    expect(response.status, response.text).to.equal(201);
    return { browser, id: response.body.id };
  };
  const receivedBy = (browser: Browser) => service.received.filter((push) => push.browser === browser.name);
  const attemptsAt = (browser: Browser) => service.attempts.filter((attempt) => attempt.browser === browser.name);
  const deliveryLines = () => worker.log().lines().filter((line) => line.msg === 'delivery attempt');

  it("pushes a reminder at its time to every subscription of its owner, encrypted for the browser and signed with VAPID, and to nobody else's", async () => {
    worker.start();
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const phone = await subscribe(alice, 'phone');
    const laptop = await subscribe(alice, 'laptop');
    const bobs = await subscribe(bob, 'bob');
    const dueAt = secondsFromNow(3_600);
    const task = await createTaskAs(api, alice, { title: 'Call the dentist', due_at: dueAt, reminders: [{ remind_at: secondsFromNow(2) }] });
    const reminder = task.reminders[0]!;

    await eventually('both pushes', () => (receivedBy(phone.browser).length + receivedBy(laptop.browser).length === 2 ? true : undefined));
    for (const browser of [phone.browser, laptop.browser]) {
      const [push] = receivedBy(browser);
      expect(push!.payload).to.deep.equal({
        type: 'reminder',
        task: { id: task.id, title: 'Call the dentist', due_at: dueAt },
        reminder_id: reminder.id,
        fire_at: reminder.fire_at,
      });
      expect(push!.at).to.be.at.least(Date.parse(reminder.fire_at));
      expect(push!.headers).to.include({ urgency: 'high', ttl: String(pushTtlSeconds), 'content-encoding': 'aes128gcm' });
      expect(push!.headers.topic).to.match(/^[\w-]{32}$/);
      expect(push!.vapid.publicKey).to.equal(testVapid.publicKey);
      expect(push!.vapid.claims).to.include({ sub: testVapid.subject, aud: service.url });
    }
    expect(receivedBy(bobs.browser)).to.deep.equal([]);
    expect(service.errors).to.deep.equal([]);

    const fired = (await api.http.get(`/api/tasks/${task.id}`).set(bearer(alice))).body;
    expect(fired.reminders[0].last_fired_at).to.be.a('string');
    expect(Date.parse(fired.reminders[0].last_fired_at)).to.be.at.least(Date.parse(reminder.fire_at));
    // One log line per attempt (written once the outcome is recorded), with what an operator needs to find it.
    const lines = await eventually('both log lines', () => (deliveryLines().length >= 2 ? deliveryLines() : undefined));
    expect(lines).to.have.length(2);
    for (const line of lines) {
      expect(line).to.include({ channel: 'push', owner_user_id: alice.id, event_type: 'reminder.fired', attempt: 1, outcome: 'delivered', status_code: 201 });
      expect(line.target_id).to.be.oneOf([phone.id, laptop.id]);
    }
  });

  it('retries a failing push with growing delays, without holding up another subscription, and counts it in /metrics', async () => {
    worker.start();
    const user = await newUser();
    const flaky = await subscribe(user, 'flaky');
    const healthy = await subscribe(user, 'healthy');
    service.answer(flaky.browser.name, 500, 503);
    const scrape = async () => (await api.http.get('/metrics').set('Authorization', `Bearer ${metricsToken}`)).text;
    const sample = (text: string, series: string) => Number(text.split('\n').find((line) => line.startsWith(`${series} `))?.split(' ')[1] ?? 0);
    const before = await scrape();
    await createTaskAs(api, user, { title: 'Flaky', reminders: [{ remind_at: secondsFromNow(1.5) }] });

    await eventually('the flaky push, third time', () => (receivedBy(flaky.browser).length === 1 ? true : undefined));
    const [first, second, third] = attemptsAt(flaky.browser);
    expect(attemptsAt(flaky.browser).map((attempt) => attempt.status)).to.deep.equal([500, 503, 201]);
    // Backoff: about 200 ms, then about 400 ms (±20 % jitter, plus up to a poll).
    expect(second!.at - first!.at).to.be.at.least(160);
    expect(third!.at - second!.at).to.be.at.least(320);
    // The healthy subscription got its push with the first attempt, before the flaky one's retry.
    expect(receivedBy(healthy.browser)).to.have.length(1);
    expect(receivedBy(healthy.browser)[0]!.at).to.be.below(second!.at);
    await eventually('four log lines', () => (deliveryLines().length >= 4 ? true : undefined));
    expect(deliveryLines().map((line) => [line.target_id, line.outcome, line.attempt])).to.have.deep.members([
      [healthy.id, 'delivered', 1],
      [flaky.id, 'retry', 1],
      [flaky.id, 'retry', 2],
      [flaky.id, 'delivered', 3],
    ]);

    const after = await scrape();
    const count = (text: string, outcome: string) => sample(text, `tasks_api_deliveries_total{channel="push",outcome="${outcome}"}`);
    expect(count(after, 'delivered') - count(before, 'delivered')).to.equal(2);
    expect(count(after, 'retry') - count(before, 'retry')).to.equal(2);
    expect(after).to.include('# TYPE tasks_api_outbox_depth gauge');
    expect(sample(after, 'tasks_api_outbox_depth')).to.equal(0);
  });

  it('deletes a subscription whose push service answers 410 Gone (the browser unsubscribed)', async () => {
    worker.start();
    const user = await newUser();
    const gone = await subscribe(user, 'gone');
    const kept = await subscribe(user, 'kept');
    service.answer(gone.browser.name, 410);
    await createTaskAs(api, user, { title: 'Gone', reminders: [{ remind_at: secondsFromNow(1.5) }] });
    await eventually('the kept push', () => (receivedBy(kept.browser).length === 1 ? true : undefined));
    await eventually('the 410', () => (deliveryLines().some((line) => line.outcome === 'gone') ? true : undefined));
    const listed = (await api.http.get('/api/push-subscriptions').set(bearer(user))).body as { id: string }[];
    expect(listed.map((subscription) => subscription.id)).to.deep.equal([kept.id]);
    expect(attemptsAt(gone.browser)).to.have.length(1);
  });

  it('gives up a delivery that keeps failing past the give-up time, and records why', async () => {
    worker.start({ giveUpMs: 700 });
    const user = await newUser();
    const down = await subscribe(user, 'down');
    service.answer(down.browser.name, ...Array.from({ length: 50 }, () => 503));
    await createTaskAs(api, user, { title: 'Down', reminders: [{ remind_at: secondsFromNow(1.5) }] });
    const last = await eventually('giving up', () => deliveryLines().find((line) => line.outcome === 'failed'));
    expect(last).to.include({ target_id: down.id, status_code: 503 });
    expect(String(last.error)).to.match(/^HTTP 503 \(given up after \d+ attempts\)$/);
    const stored = await withSqlClient(databaseUrl, (client) =>
      client.query('select status, last_status_code, attempts from deliveries where target_id = $1', [down.id]),
    );
    expect(stored.rows).to.deep.equal([{ status: 'failed', last_status_code: 503, attempts: Number(last.attempt) }]);
  });

  it('never calls a loopback endpoint unless loopback is explicitly allowed: the delivery is refused, not retried', async () => {
    worker.start({ outbound: { allowLoopback: false, timeoutMs: 2_000, maxResponseBytes: 65_536 } });
    const user = await newUser();
    // Stored by an API that allows loopback; delivered by a worker that does not.
    const local = await subscribe(user, 'local');
    await createTaskAs(api, user, { title: 'Local', reminders: [{ remind_at: secondsFromNow(1.5) }] });
    const line = await eventually('the refusal', () => deliveryLines().find((entry) => entry.target_id === local.id));
    expect(line).to.include({ outcome: 'refused', status_code: null, attempt: 1 });
    expect(String(line.error)).to.match(/^refused: /);
    expect(attemptsAt(local.browser)).to.deep.equal([]);
  });
});
