// The scheduler's guarantees with the real process (issue 14 item 2): a reminder that came due
// while no API was running fires when the next one starts, and WORKER=off / WORKER=only put the
// firing where the operator wants it. Times are seconds, not minutes: SCHEDULER_POLL_MS is short.
import { expect } from 'chai';
import { requestApiProcess, startApiProcess, type ApiProcess } from '../support/api-process.ts';
import { newUser, testSecret, type TestUser } from '../support/api.ts';
import { createMigratedDatabase, withSqlClient } from '../support/database.ts';
import { cleanEnvironment, runNode, stopAll } from '../support/server-process.ts';
import { startWebhookReceiver } from '../support/webhook-receiver.ts';

type Reminder = { id: string; fire_at: string; last_fired_at: string | null };
type Task = { id: string; reminders: Reminder[] };


const metricsToken = 'worker-metrics-token-0123456789';
const workerListening = /^tasks-api worker listening on (http:\/\/localhost:\d+) /;
const workerUrlOf = (line: { msg?: string }) => workerListening.exec(line.msg!)![1]!.replace('localhost', '127.0.0.1');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const secondsFromNow = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

/** Ids of the user's reminders still to fire. */
async function pendingIds(api: ApiProcess, user: TestUser): Promise<string[]> {
  const due = await requestApiProcess(api, user, 'GET', `/api/reminders/due?until=${encodeURIComponent('2999-01-01T00:00:00Z')}`);
  return (due.body as { reminder_id: string }[]).map((entry) => entry.reminder_id);
}

async function firedAt(databaseUrl: string, reminderId: string): Promise<string | null> {
  return withSqlClient(databaseUrl, async (client) => {
    const result = await client.query<{ last_fired_at: Date | null }>('select last_fired_at from task_reminders where id = $1', [reminderId]);
    return result.rows[0]?.last_fired_at?.toISOString() ?? null;
  });
}

describe('the reminder scheduler, with the real process', function () {
  this.timeout(90_000);
  let databaseUrl: string;
  const settings = () => ({ DATABASE_URL: databaseUrl, BETTER_AUTH_SECRET: testSecret, SCHEDULER_POLL_MS: '200' });

  before(async () => {
    databaseUrl = await createMigratedDatabase('reminders');
  });
  afterEach(async () => stopAll());

  it('fires a reminder that came due while the API was stopped within 30 s of the next start, once', async () => {
    const user = await newUser();
    const first = await startApiProcess(settings());
    // Far enough ahead that this process is surely gone before it is due, even on a loaded machine.
    const created = await requestApiProcess(first, user, 'POST', '/api/tasks', { title: 'While away', reminders: [{ remind_at: secondsFromNow(15) }] });
    expect(created.status).to.equal(201);
    expect(await pendingIds(first, user), 'set while still ahead').to.deep.equal([(created.body as Task).reminders[0]!.id]);
    const reminder = (created.body as Task).reminders[0]!;
    first.run.child.kill('SIGTERM');
    expect((await first.run.waitForExit(20_000)).code).to.equal(0);
    expect(Date.now(), 'stopped before the reminder was due').to.be.below(Date.parse(reminder.fire_at));

    await sleep(Math.max(0, Date.parse(reminder.fire_at) - Date.now()) + 1_000);
    expect(await firedAt(databaseUrl, reminder.id), 'nothing fires while no process runs').to.equal(null);

    const second = await startApiProcess(settings());
    const startedAt = Date.now();
    const line = await second.run.waitForLog((entry) => entry.msg === 'reminder fired' && entry.reminder_id === reminder.id, 30_000);
    expect(Date.now() - startedAt).to.be.below(30_000);
    expect(line).to.include({ task_id: (created.body as Task).id, fire_at: reminder.fire_at, owner_user_id: user.id });
    const fired = await firedAt(databaseUrl, reminder.id);
    expect(Date.parse(fired!)).to.be.at.least(Date.parse(reminder.fire_at));
    const task = (await requestApiProcess(second, user, 'GET', `/api/tasks/${(created.body as Task).id}`)).body as Task;
    expect(task.reminders).to.deep.equal([{ ...reminder, last_fired_at: fired }]);
    // Fired once: a few more polls find nothing more to fire.
    await sleep(1_000);
    expect([...first.run.logs, ...second.run.logs].filter((entry) => entry.msg === 'reminder fired' && entry.reminder_id === reminder.id)).to.have.length(1);
  });

  it('fires nothing with WORKER=off, and fires from a WORKER=only process that serves no API', async () => {
    const user = await newUser();
    const api = await startApiProcess({ ...settings(), WORKER: 'off' });
    expect(api.run.logs.some((entry) => entry.msg === 'delivery worker running')).to.equal(false);
    const created = await requestApiProcess(api, user, 'POST', '/api/tasks', { title: 'Separate worker', reminders: [{ remind_at: secondsFromNow(3_600) }] });
    const reminder = (created.body as Task).reminders[0]!;
    expect(await pendingIds(api, user), 'set while still ahead').to.deep.equal([reminder.id]);
    // Due in a second (moved in the database: on a loaded machine a short lead time set through the API may pass before the request ends).
    await withSqlClient(databaseUrl, (client) =>
      client.query(`update task_reminders set remind_at = now() + interval '1 second', fire_at = now() + interval '1 second' where id = $1`, [reminder.id]),
    );
    await sleep(2_500);
    expect(await firedAt(databaseUrl, reminder.id)).to.equal(null);

    const worker = runNode(
      'src/server.ts',
      [],
      cleanEnvironment({ NODE_ENV: 'development', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', ...settings(), WORKER: 'only' }),
    );
    await worker.waitForLog((entry) => entry.msg === 'reminder fired' && entry.reminder_id === reminder.id, 30_000);
    expect(await firedAt(databaseUrl, reminder.id)).not.to.equal(null);
    const url = workerUrlOf(await worker.waitForLog((entry) => workerListening.test(entry.msg ?? ''), 30_000));
    const served = await fetch(`${url}/api/tasks`, { headers: { authorization: user.authorization }, signal: AbortSignal.timeout(10_000) });
    expect(served.status).to.equal(404);
    expect(((await served.json()) as { type: string }).type).to.equal('/problems/path-not-found');
    // Without METRICS_TOKEN, as on the API: /metrics does not exist.
    expect((await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).status).to.equal(404);
    worker.child.kill('SIGTERM');
    expect((await worker.waitForExit(20_000)).code).to.equal(0);
  });

  it('serves /health, /ready and, with METRICS_TOKEN, /metrics from a WORKER=only process on PORT: its delivery counts, the scheduler lag and the outbox depth', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const user = await newUser();
      const api = await startApiProcess({ ...settings(), WORKER: 'off', OUTBOUND_ALLOW_LOOPBACK: 'true' });
      const hook = await requestApiProcess(api, user, 'POST', '/api/webhooks', { url: `${receiver.url}/worker-metrics`, events: ['reminder.fired'] });
      expect(hook.status).to.equal(201);
      const created = await requestApiProcess(api, user, 'POST', '/api/tasks', { title: 'Scraped', reminders: [{ remind_at: secondsFromNow(3_600) }] });
      const reminder = (created.body as Task).reminders[0]!;
      await withSqlClient(databaseUrl, (client) =>
        client.query(`update task_reminders set remind_at = now(), fire_at = now() where id = $1`, [reminder.id]),
      );

      const worker = runNode(
        'src/server.ts',
        [],
        cleanEnvironment({ NODE_ENV: 'development', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', ...settings(), WORKER: 'only', METRICS_TOKEN: metricsToken, OUTBOUND_ALLOW_LOOPBACK: 'true' }),
      );
      const url = workerUrlOf(await worker.waitForLog((entry) => workerListening.test(entry.msg ?? ''), 30_000));
      await worker.waitForLog((entry) => entry.msg === 'delivery attempt' && entry.outcome === 'delivered', 30_000);

      const get = (path: string, headers: Record<string, string> = {}) => fetch(`${url}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
      const health = await get('/health');
      expect([health.status, await health.json()]).to.deep.equal([200, { status: 'ok' }]);
      const ready = await get('/ready');
      expect([ready.status, await ready.json()]).to.deep.equal([200, { status: 'ok' }]);
      const anonymous = await get('/metrics');
      expect(anonymous.status).to.equal(401);
      expect(anonymous.headers.get('www-authenticate')).to.equal('Bearer realm="tasks-api-metrics"');
      expect(((await anonymous.json()) as { type: string }).type).to.equal('/problems/metrics-token-required');
      const scraped = await get('/metrics', { authorization: `Bearer ${metricsToken}` });
      expect(scraped.status).to.equal(200);
      const text = await scraped.text();
      const sample = (series: string) => text.split('\n').find((line) => line.startsWith(`${series} `))?.split(' ')[1];
      expect(sample('tasks_api_reminders_fired_total')).to.equal('1');
      expect(sample('tasks_api_deliveries_total{channel="webhook",outcome="delivered"}')).to.equal('1');
      expect(sample('tasks_api_outbox_depth')).to.equal('0');
      expect(Number(sample('tasks_api_scheduler_lag_seconds'))).to.be.at.least(0);
      expect(sample('tasks_api_http_requests_in_flight')).to.equal('1');
      // One log line per request, as the API writes them (asynchronously: the scrape's is the last).
      await worker.waitForLog((entry) => entry.msg === 'request completed' && entry.operation === 'metrics' && entry.status === 200, 10_000);
      expect(worker.logs.filter((entry) => entry.msg === 'request completed').map((entry) => [entry.operation, entry.status])).to.deep.include.members([
        ['health', 200],
        ['ready', 200],
        ['metrics', 401],
        ['metrics', 200],
      ]);
      worker.child.kill('SIGTERM');
      expect((await worker.waitForExit(20_000)).code).to.equal(0);
    } finally {
      await receiver.close();
    }
  });
});
