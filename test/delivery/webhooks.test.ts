// Webhook deliveries (issue 14 item 4), end to end in one process: task writes and fired reminders
// put signed events in the outbox, the delivery worker sends them, and a receiver on loopback
// verifies every one with the Standard Webhooks reference library (test/support/webhook-receiver.ts).
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { newUser, startTestApi, type TestApi, type TestUser } from '../support/api.ts';
import { eventually, useDeliveryWorker } from '../support/delivery.ts';
import { createMigratedDatabase } from '../support/database.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';
import { bearer, createTaskAs } from '../support/tasks.ts';

const secondsFromNow = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const allEvents = ['reminder.fired', 'task.created', 'task.updated', 'task.completed', 'task.deleted'];

describe('webhook deliveries, signed per Standard Webhooks', function () {
  this.timeout(60_000);
  let api: TestApi;
  let receiver: WebhookReceiver;
  const worker = useDeliveryWorker(() => api);

  before(async () => {
    api = await startTestApi({ databaseUrl: await createMigratedDatabase('webhooks'), allowLoopback: true });
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await api?.close();
    await receiver?.close();
  });

  const register = async (user: TestUser, events = allEvents, path = `/${randomUUID()}`, base = receiver.url) => {
    const response = await api.http.post('/api/webhooks').set(bearer(user)).send({ url: `${base}${path}`, events });
    expect(response.status, response.text).to.equal(201);
    return { id: response.body.id as string, secret: response.body.secret as string, path };
  };
  const at = (path: string) => receiver.received.filter((request) => request.path === path);
  const events = (path: string, secret: string) => at(path).map((request) => receiver.verify(request, secret));
  const deliveries = async (user: TestUser, webhookId: string) => (await api.http.get(`/api/webhooks/${webhookId}/deliveries`).set(bearer(user))).body;

  it("sends task.created, updated, completed and deleted for the owner's writes, each verified by the Standard Webhooks library, and nothing to another user's webhook", async () => {
    worker.start();
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const hook = await register(alice);
    const bobsHook = await register(bob);
    const created = await createTaskAs(api, alice, { title: 'Evented' });
    const updated = (await api.http.patch(`/api/tasks/${created.id}`).set(bearer(alice)).send({ title: 'Evented twice' })).body;
    const completed = (await api.http.patch(`/api/tasks/${created.id}/complete`).set(bearer(alice))).body;
    expect((await api.http.delete(`/api/tasks/${created.id}`).set(bearer(alice))).status).to.equal(204);

    await eventually('four events', () => (at(hook.path).length >= 4 ? true : undefined));
    const received = events(hook.path, hook.secret);
    expect(received.map((event) => [event.type, event.data])).to.have.deep.members([
      ['task.created', created],
      ['task.updated', updated],
      ['task.completed', completed],
      ['task.deleted', { id: created.id }],
    ]);
    for (const event of received) expect(Date.parse(event.timestamp)).to.be.a('number').and.not.NaN;
    for (const request of at(hook.path)) {
      expect(request.headers['content-type']).to.equal('application/json');
      expect(request.headers['webhook-id']).to.match(/^msg_[0-9a-f-]{36}$/);
    }
    // A signature made with another secret does not verify: the check is real.
    expect(() => receiver.verify(at(hook.path)[0]!, bobsHook.secret)).to.throw();
    await sleep(500);
    expect(at(bobsHook.path)).to.deep.equal([]);
    const listed = await deliveries(alice, hook.id);
    expect(listed.map((delivery: { status: string; attempts: number }) => [delivery.status, delivery.attempts])).to.deep.equal(Array(4).fill(['delivered', 1]));
  });

  it('sends an event for every task a cascade or a move changes: subtasks deleted with their parent or their list, tasks a deleted list hands on, subtasks moved to another list', async () => {
    worker.start();
    const user = await newUser();
    const hook = await register(user, ['task.updated', 'task.deleted']);
    const list = async (name: string) => (await api.http.post('/api/lists').set(bearer(user)).send({ name })).body as { id: string };
    const [home, work, doomed] = [await list('Home'), await list('Work'), await list('Doomed')];
    const parent = await createTaskAs(api, user, { title: 'Parent', list_id: home.id });
    const child = await createTaskAs(api, user, { title: 'Child', parent_id: parent.id });
    const sibling = await createTaskAs(api, user, { title: 'Sibling', list_id: home.id });
    const handedOn = await createTaskAs(api, user, { title: 'Handed on', list_id: doomed.id });
    const deletedParent = await createTaskAs(api, user, { title: 'Deleted parent' });
    const deletedChild = await createTaskAs(api, user, { title: 'Deleted child', parent_id: deletedParent.id });
    const inDeletedList = await createTaskAs(api, user, { title: 'In a deleted list', list_id: work.id });

    const moved = await api.http.post(`/api/tasks/${parent.id}/move`).set(bearer(user)).send({ list_id: work.id });
    expect(moved.status, moved.text).to.equal(200);
    const handOver = await api.http.delete(`/api/lists/${doomed.id}?move_tasks_to=${home.id}`).set(bearer(user));
    expect(handOver.status).to.equal(204);
    expect((await api.http.delete(`/api/tasks/${deletedParent.id}`).set(bearer(user))).status).to.equal(204);
    // Work now holds the moved parent and its child as well as its own task: all three go.
    expect((await api.http.delete(`/api/lists/${work.id}`).set(bearer(user))).status).to.equal(204);

    const expected = 3 + 5;
    await eventually(`${expected} events`, () => (at(hook.path).length >= expected ? true : undefined));
    await sleep(500);
    const received = events(hook.path, hook.secret);
    const updated = received.filter((event) => event.type === 'task.updated').map((event) => event.data as { id: string; list_id: string | null });
    expect(updated.map((task) => [task.id, task.list_id])).to.have.deep.members([
      [parent.id, work.id],
      [child.id, work.id],
      [handedOn.id, home.id],
    ]);
    expect(updated.find((task) => task.id === parent.id)).to.deep.equal(moved.body);
    const deleted = received.filter((event) => event.type === 'task.deleted').map((event) => event.data);
    expect(deleted).to.have.deep.members([deletedParent, deletedChild, parent, child, inDeletedList].map((task) => ({ id: task.id })));
    // The sibling only stayed where it was: no event.
    expect(received.map((event) => (event.data as { id: string }).id)).to.not.include(sibling.id);
  });

  it('sends task.updated for a skipped occurrence and for an undone completion, each with the task as answered', async () => {
    worker.start();
    const user = await newUser();
    const hook = await register(user, ['task.updated']);
    const task = await createTaskAs(api, user, { title: 'Daily', due_at: '2030-01-07T08:00:00.000Z', recurrence: { rule: 'FREQ=DAILY', time_zone: 'UTC' } });
    const skipped = await api.http.post(`/api/tasks/${task.id}/skip`).set(bearer(user));
    expect(skipped.status, skipped.text).to.equal(200);
    expect((await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user)).send({ completed: true })).status).to.equal(200);
    const [completion] = (await api.http.get(`/api/tasks/${task.id}/completions`).set(bearer(user))).body as { id: string }[];
    const undone = await api.http.delete(`/api/tasks/${task.id}/completions/${completion!.id}`).set(bearer(user));
    expect(undone.status, undone.text).to.equal(200);

    await eventually('two events', () => (at(hook.path).length >= 2 ? true : undefined));
    await sleep(300);
    expect(events(hook.path, hook.secret).map((event) => [event.type, event.data])).to.have.deep.members([
      ['task.updated', skipped.body],
      ['task.updated', undone.body],
    ]);
  });

  it('sends no event for a write that was rolled back', async () => {
    worker.start();
    const user = await newUser();
    const hook = await register(user, ['task.updated']);
    const task = await createTaskAs(api, user, { title: 'Guarded', due_at: secondsFromNow(3600), reminders: [{ before_due: 'PT5M' }] });
    // Refused after the UPDATE ran inside the transaction (the relative reminder needs due_at): rolled back.
    expect((await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ due_at: null })).status).to.equal(422);
    // Refused by If-Match: nothing written.
    expect((await api.http.patch(`/api/tasks/${task.id}`).set('If-Match', '"999999"').set(bearer(user)).send({ title: 'Stale' })).status).to.equal(412);
    const written = (await api.http.patch(`/api/tasks/${task.id}`).set(bearer(user)).send({ title: 'Written' })).body;
    await eventually('the one event', () => (at(hook.path).length >= 1 ? true : undefined));
    await sleep(500);
    expect(events(hook.path, hook.secret).map((event) => event.data)).to.deep.equal([written]);
  });

  it('sends reminder.fired when a reminder fires', async () => {
    worker.start();
    const user = await newUser();
    const hook = await register(user, ['reminder.fired']);
    const task = await createTaskAs(api, user, { title: 'Remind the server', reminders: [{ remind_at: secondsFromNow(1.5) }] });
    await eventually('the reminder event', () => (at(hook.path).length >= 1 ? true : undefined));
    const [event] = events(hook.path, hook.secret);
    expect(event).to.deep.include({
      type: 'reminder.fired',
      data: { type: 'reminder', task: { id: task.id, title: 'Remind the server', due_at: null }, reminder_id: task.reminders[0]!.id, fire_at: task.reminders[0]!.fire_at },
    });
  });

  it('never fires a reminder that undoing a completion moved back into the past (not retroactively)', async () => {
    worker.start();
    const user = await newUser();
    const hook = await register(user, ['reminder.fired']);
    // Overdue by two hours, a reminder 15 minutes before: its time had passed when it was set.
    const overdue = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 2 * 3_600_000).toISOString();
    const task = await createTaskAs(api, user, { title: 'Undone', due_at: overdue, recurrence: { rule: 'FREQ=DAILY', time_zone: 'UTC' }, reminders: [{ before_due: 'PT15M' }] });
    expect((await api.http.patch(`/api/tasks/${task.id}/complete`).set(bearer(user))).body.due_at).not.to.equal(overdue);
    const [completion] = (await api.http.get(`/api/tasks/${task.id}/completions`).set(bearer(user))).body as { id: string }[];
    const undone = await api.http.delete(`/api/tasks/${task.id}/completions/${completion!.id}`).set(bearer(user));
    expect(undone.body.due_at).to.equal(overdue);
    // A reminder that does fire, after several polls: by then the undone one would have fired too.
    const control = await createTaskAs(api, user, { title: 'Control', reminders: [{ remind_at: secondsFromNow(1) }] });
    await eventually('the control reminder', () => (at(hook.path).length >= 1 ? true : undefined));
    await sleep(300);
    expect(events(hook.path, hook.secret).map((event) => (event.data as { reminder_id: string }).reminder_id)).to.deep.equal([control.reminders[0]!.id]);
    const read = (await api.http.get(`/api/tasks/${task.id}`).set(bearer(user))).body;
    expect(read.reminders[0]).to.deep.include({ fire_at: new Date(Date.parse(overdue) - 15 * 60_000).toISOString(), last_fired_at: null });
  });

  it('retries a failing delivery with backoff under the same webhook-id, showing attempts, status and the next retry', async () => {
    worker.start({ retryBaseMs: 400 });
    const user = await newUser();
    const hook = await register(user, ['task.created']);
    receiver.answer(hook.path, 500, 503);
    await createTaskAs(api, user, { title: 'Retry' });
    const pending = await eventually('a failed attempt recorded', async () => {
      const [delivery] = await deliveries(user, hook.id);
      return delivery?.attempts === 1 && delivery.last_status_code === 500 ? delivery : undefined;
    });
    expect(pending).to.include({ event_type: 'task.created', status: 'pending', last_error: 'HTTP 500' });
    expect(Date.parse(pending.next_attempt_at) - Date.parse(pending.last_attempt_at)).to.be.within(300, 500);
    const webhook = (await api.http.get(`/api/webhooks/${hook.id}`).set(bearer(user))).body;
    expect(webhook.failing_since).to.be.a('string');
    await eventually('the third attempt', () => (at(hook.path).length >= 3 ? true : undefined));
    const ids = new Set(at(hook.path).map((request) => request.headers['webhook-id']));
    expect(ids.size).to.equal(1);
    for (const request of at(hook.path)) receiver.verify(request, hook.secret);
    const [done] = await eventually('delivered', async () => {
      const list = await deliveries(user, hook.id);
      return list[0]?.status === 'delivered' ? list : undefined;
    });
    expect(done).to.include({ status: 'delivered', attempts: 3, last_status_code: 204, next_attempt_at: null });
    expect((await api.http.get(`/api/webhooks/${hook.id}`).set(bearer(user))).body.failing_since).to.equal(null);
  });

  it('disables a webhook whose deliveries keep failing for the disable period, says so, and sends nothing more until it is enabled', async () => {
    worker.start({ webhookDisableAfterMs: 800, retryBaseMs: 100 });
    const user = await newUser();
    const hook = await register(user, ['task.created']);
    receiver.answer(hook.path, ...Array.from({ length: 100 }, () => 500));
    await createTaskAs(api, user, { title: 'Failing' });
    const disabled = await eventually('disabled', async () => {
      const webhook = (await api.http.get(`/api/webhooks/${hook.id}`).set(bearer(user))).body;
      return webhook.enabled === false ? webhook : undefined;
    });
    expect(disabled.disabled_at).to.be.a('string');
    expect(disabled.disabled_reason).to.equal('Every delivery failed for 0.8 seconds; enable it again with PATCH {"enabled": true}.');
    const [failed] = await deliveries(user, hook.id);
    expect(failed).to.include({ status: 'failed', next_attempt_at: null });
    expect(failed.last_error).to.match(/disabled/);
    const requests = at(hook.path).length;
    await createTaskAs(api, user, { title: 'While disabled' });
    await sleep(500);
    expect(at(hook.path)).to.have.length(requests);
    expect(await deliveries(user, hook.id)).to.have.length(1);

    receiver.answer(hook.path);
    expect((await api.http.patch(`/api/webhooks/${hook.id}`).set(bearer(user)).send({ enabled: true })).body.enabled).to.equal(true);
    await createTaskAs(api, user, { title: 'Enabled again' });
    await eventually('the next event', () => (at(hook.path).some((request) => request.status === 204) ? true : undefined));
  });

  it('delivers a ping from POST /api/webhooks/{id}/test', async () => {
    worker.start();
    const user = await newUser();
    const hook = await register(user, ['task.deleted']);
    const ping = (await api.http.post(`/api/webhooks/${hook.id}/test`).set(bearer(user))).body;
    await eventually('the ping', () => (at(hook.path).length >= 1 ? true : undefined));
    expect(events(hook.path, hook.secret)).to.deep.equal([{ type: 'webhook.test', timestamp: events(hook.path, hook.secret)[0]!.timestamp, data: { webhook_id: hook.id } }]);
    expect(at(hook.path)[0]!.headers['webhook-id']).to.equal(`msg_${ping.id}`);
  });

  describe('the outbound guard at delivery time', () => {
    it('refuses a URL whose host resolves to loopback when loopback is not allowed (checked on the resolved address), and sends nothing', async () => {
      worker.start({ outbound: { allowLoopback: false, timeoutMs: 2_000, maxResponseBytes: 65_536 } });
      const user = await newUser();
      // Registered while loopback was allowed; `localhost` is a name, resolved only when delivering.
      const hook = await register(user, ['task.created'], `/${randomUUID()}`, receiver.url.replace('http://127.0.0.1', 'https://localhost'));
      await createTaskAs(api, user, { title: 'Towards localhost' });
      const [delivery] = await eventually('the refusal', async () => {
        const list = await deliveries(user, hook.id);
        return list[0]?.status === 'failed' ? list : undefined;
      });
      expect(delivery).to.include({ attempts: 1, last_status_code: null });
      expect(delivery.last_error).to.match(/^refused: localhost resolves to (127\.0\.0\.1|::1), which is a loopback address$/);
      expect(at(hook.path)).to.deep.equal([]);
    });

    it('does not follow a redirect: the 307 is the answer, and the place it points to is never called', async () => {
      worker.start();
      const user = await newUser();
      const hook = await register(user, ['task.created']);
      const elsewhere = `/${randomUUID()}`;
      receiver.answer(hook.path, { redirectTo: `${receiver.url}${elsewhere}` });
      await createTaskAs(api, user, { title: 'Redirected' });
      const [delivery] = await eventually('the 307 recorded', async () => {
        const list = await deliveries(user, hook.id);
        return list[0]?.last_status_code === 307 ? list : undefined;
      });
      expect(delivery).to.include({ status: 'pending', last_error: 'HTTP 307' });
      expect(at(elsewhere)).to.deep.equal([]);
    });

    it('stops reading a large answer, and gives up on one that does not come within the timeout', async () => {
      worker.start({ outbound: { allowLoopback: true, timeoutMs: 700, maxResponseBytes: 1_024 } });
      const user = await newUser();
      const large = await register(user, ['task.created']);
      const slow = await register(user, ['task.created']);
      receiver.answer(large.path, { bodyBytes: 20 * 1024 * 1024 });
      receiver.answer(slow.path, { hangMs: 5_000 });
      await createTaskAs(api, user, { title: 'Awkward receivers' });
      const [big] = await eventually('the large answer', async () => {
        const list = await deliveries(user, large.id);
        return list[0]?.status === 'delivered' ? list : undefined;
      });
      expect(big).to.include({ last_status_code: 200, attempts: 1 });
      const [timedOut] = await eventually('the timeout', async () => {
        const list = await deliveries(user, slow.id);
        return list[0]?.last_error ? list : undefined;
      });
      expect(timedOut).to.include({ status: 'pending', last_error: 'timed out', last_status_code: null });
    });
  });
});
