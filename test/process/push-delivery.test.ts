// The delivery guarantees with the real process (issue 14 item 2): two instances on one database
// deliver each reminder occurrence once; a failing endpoint is retried with backoff and holds up no
// other; SIGTERM waits for a delivery in flight. The receiver is the loopback push service that
// verifies VAPID and decrypts each message (test/support/push-service.ts).
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { requestApiProcess, startApiProcess, type ApiProcess } from '../support/api-process.ts';
import { newUser, testSecret, testVapid, type TestUser } from '../support/api.ts';
import { createMigratedDatabase, withSqlClient } from '../support/database.ts';
import { startPushService, type Browser, type PushService } from '../support/push-service.ts';
import { stopAll } from '../support/server-process.ts';

type Task = { id: string; reminders: { id: string; fire_at: string }[] };

const call = async (api: ApiProcess, user: TestUser, method: string, path: string, body?: unknown) => {
  const response = await requestApiProcess(api, user, method, path, body);
  expect(response.status, `${method} ${path}`).to.be.below(300);
  return response.body;
};

const secondsFromNow = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

/**
 * Makes the user's pending reminders due `seconds` from now, all at the same instant. The reminders
 * are set an hour ahead through the API, then moved here: on a loaded machine the requests that
 * set them can take longer than any short lead time, and a reminder already past when set never fires.
 */
async function dueSoon(databaseUrl: string, user: TestUser, seconds: number): Promise<string> {
  return withSqlClient(databaseUrl, async (client) => {
    const result = await client.query<{ fire_at: Date }>(
      `update task_reminders set remind_at = date_trunc('milliseconds', now() + make_interval(secs => $2)), fire_at = date_trunc('milliseconds', now() + make_interval(secs => $2))
       where owner_user_id = $1 and pending returning fire_at`,
      [user.id, seconds],
    );
    return result.rows[0]!.fire_at.toISOString();
  });
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('push delivery, with the real process', function () {
  this.timeout(120_000);
  let service: PushService;
  let databaseUrl: string;

  const settings = (extra: Record<string, string> = {}) => ({
    DATABASE_URL: databaseUrl,
    BETTER_AUTH_SECRET: testSecret,
    VAPID_PUBLIC_KEY: testVapid.publicKey,
    VAPID_PRIVATE_KEY: testVapid.privateKey,
    VAPID_SUBJECT: testVapid.subject,
    OUTBOUND_ALLOW_LOOPBACK: 'true',
    SCHEDULER_POLL_MS: '100',
    DELIVERY_RETRY_BASE_MS: '300',
    ...extra,
  });

  beforeEach(async () => {
    databaseUrl = await createMigratedDatabase('push_process');
    service = await startPushService();
  });
  afterEach(async () => {
    await stopAll();
    await service.close();
  });

  const subscribe = async (api: ApiProcess, user: TestUser, name: string): Promise<Browser> => {
    const browser = service.subscribe(`${name}-${randomUUID()}`);
    await call(api, user, 'POST', '/api/push-subscriptions', browser.subscription);
    return browser;
  };
  const receivedBy = (browser: Browser) => service.received.filter((push) => push.browser === browser.name);

  it('delivers each reminder occurrence once with two instances running the worker', async () => {
    const [a, b] = await Promise.all([startApiProcess(settings()), startApiProcess(settings())]);
    const user = await newUser();
    const browser = await subscribe(a, user, 'shared');
    const reminderIds: string[] = [];
    for (let index = 0; index < 20; index += 1) {
      const task = (await call(index % 2 === 0 ? a : b, user, 'POST', '/api/tasks', { title: `Task ${index}`, reminders: [{ remind_at: secondsFromNow(3_600) }] })) as Task;
      reminderIds.push(task.reminders[0]!.id);
    }
    // All 20 due at the same instant, for both instances' workers at once.
    await dueSoon(databaseUrl, user, 2);
    await eventually('20 pushes', () => (receivedBy(browser).length >= 20 ? true : undefined), 30_000);
    // A few more polls of both instances: still nothing twice.
    await sleep(1_500);
    const pushed = receivedBy(browser).map((push) => (push.payload as { reminder_id: string }).reminder_id);
    expect([...pushed].sort()).to.deep.equal([...reminderIds].sort());
    expect(service.errors).to.deep.equal([]);
    const fired = (api: ApiProcess) => api.run.logs.filter((line) => line.msg === 'reminder fired').length;
    expect(fired(a) + fired(b)).to.equal(20);
    const delivered = await withSqlClient(databaseUrl, (client) =>
      client.query<{ status: string; count: number }>(`select status, count(*)::int as count from deliveries group by status`),
    );
    expect(delivered.rows).to.deep.equal([{ status: 'delivered', count: 20 }]);
  });

  it('retries a failing endpoint with backoff while another subscription gets its push at once', async () => {
    const api = await startApiProcess(settings());
    const user = await newUser();
    const flaky = await subscribe(api, user, 'flaky');
    const healthy = await subscribe(api, user, 'healthy');
    service.answer(flaky.name, 500, 502);
    await call(api, user, 'POST', '/api/tasks', { title: 'Retry me', reminders: [{ remind_at: secondsFromNow(3_600) }] });
    await dueSoon(databaseUrl, user, 1);
    await eventually('the flaky push', () => (receivedBy(flaky).length === 1 ? true : undefined), 30_000);
    const attempts = service.attempts.filter((attempt) => attempt.browser === flaky.name);
    expect(attempts.map((attempt) => attempt.status)).to.deep.equal([500, 502, 201]);
    expect(attempts[1]!.at - attempts[0]!.at).to.be.at.least(240);
    expect(attempts[2]!.at - attempts[1]!.at).to.be.at.least(480);
    expect(receivedBy(healthy)).to.have.length(1);
    expect(receivedBy(healthy)[0]!.at).to.be.below(attempts[1]!.at);
  });

  it('waits on SIGTERM for a delivery in flight, records it, and does not deliver it again after a restart', async () => {
    const api = await startApiProcess(settings({ SHUTDOWN_GRACE_SECONDS: '15' }));
    const user = await newUser();
    const browser = await subscribe(api, user, 'slow');
    service.delay(3_000);
    await call(api, user, 'POST', '/api/tasks', { title: 'Slow receiver', reminders: [{ remind_at: secondsFromNow(3_600) }] });
    await dueSoon(databaseUrl, user, 1);
    await eventually('the push to arrive at the service', () => (service.attempts.some((attempt) => attempt.browser === browser.name) ? true : undefined), 30_000);
    const signalledAt = Date.now();
    api.run.child.kill('SIGTERM');
    const exit = await api.run.waitForExit(30_000);
    expect(exit.code).to.equal(0);
    // It waited for the receiver's answer (held 3 s) before exiting.
    expect(receivedBy(browser)).to.have.length(1);
    expect(Date.now() - signalledAt).to.be.at.least(2_000);
    expect(api.run.logs.find((line) => line.msg === 'delivery attempt')).to.include({ outcome: 'delivered', attempt: 1 });
    const stored = await withSqlClient(databaseUrl, (client) => client.query('select status, attempts from deliveries'));
    expect(stored.rows).to.deep.equal([{ status: 'delivered', attempts: 1 }]);

    service.delay(0);
    const restarted = await startApiProcess(settings());
    await sleep(1_500);
    expect(service.attempts.filter((attempt) => attempt.browser === browser.name)).to.have.length(1);
    expect(restarted.run.logs.filter((line) => line.msg === 'delivery attempt')).to.deep.equal([]);
  });
});
