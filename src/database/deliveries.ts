// Outbox queries: one SQL statement each. Those a request runs, and the worker's writes about one
// delivery, are scoped by the owner (the worker knows it from the row it claimed). The two that
// read across owners are the worker's on purpose: writing the deliveries of a batch of fired
// reminders (each joined to its own owner's targets) and claiming due deliveries.
import { randomUUID } from 'node:crypto';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { FiredReminderRow } from './task-reminders.ts';

/** The one key of a reminder occurrence: a repeat of it (at least once underneath) is the same message. */
export const reminderDeliveryKey = (reminder: FiredReminderRow) => `reminder:${reminder.task_id}:${reminder.reminder_id}:${reminder.fire_at}`;

/** What a push notification and a reminder.fired webhook event say about a fired reminder. */
export const reminderPayload = (reminder: FiredReminderRow) => ({
  type: 'reminder' as const,
  task: { id: reminder.task_id, title: reminder.title, due_at: reminder.due_at },
  reminder_id: reminder.reminder_id,
  fire_at: reminder.fire_at,
});

/**
 * Writes one push delivery per fired reminder and subscription of its owner, in the transaction
 * that marked the reminders fired. Worker-only (across owners): each reminder joins only its own
 * owner's subscriptions.
 */
export async function insertReminderPushDeliveries(db: CommonQueryMethods, fired: readonly FiredReminderRow[]): Promise<number> {
  const rows = fired.map((reminder) => ({ owner_user_id: reminder.owner_user_id, key: reminderDeliveryKey(reminder), payload: reminderPayload(reminder) }));
  const result = await db.query(sql.type(z.object({}))`
    insert into deliveries (owner_user_id, channel, target_id, event_type, delivery_key, payload)
    select f.owner_user_id, 'push', s.id, 'reminder.fired', f.key, f.payload
    from jsonb_to_recordset(${sql.jsonb(rows)}) as f(owner_user_id text, key text, payload jsonb)
    join push_subscriptions s on s.owner_user_id = f.owner_user_id
    on conflict (owner_user_id, channel, target_id, delivery_key) do nothing`);
  return result.rowCount;
}

const claimedDeliveryRow = z.object({
  id: z.string(),
  owner_user_id: z.string(),
  channel: z.enum(['push', 'webhook']),
  target_id: z.string(),
  event_type: z.string(),
  delivery_key: z.string(),
  payload: z.unknown(),
  attempts: z.number(),
  created_at: z.string(),
});
export type ClaimedDelivery = z.infer<typeof claimedDeliveryRow>;

/**
 * Claims up to `limit` due deliveries for `leaseMs` (worker-only, across owners): counts the attempt
 * and moves next_attempt_at past the lease, so no other worker takes them meanwhile, and one that
 * dies mid-call leaves them to be taken again when the lease ends.
 */
export async function updateDueDeliveriesClaimed(db: CommonQueryMethods, limit: number, leaseMs: number): Promise<readonly ClaimedDelivery[]> {
  return db.any(sql.type(claimedDeliveryRow)`
    with due as (
      select id from deliveries
      where status = 'pending' and next_attempt_at <= now()
      order by next_attempt_at
      limit ${limit}
      for update skip locked
    )
    update deliveries d
    set attempts = d.attempts + 1, last_attempt_at = now(), next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000})
    from due
    where d.id = due.id
    returning d.id, d.owner_user_id, d.channel, d.target_id, d.event_type, d.delivery_key, d.payload, d.attempts, d.created_at`);
}

export type DeliveryOutcome =
  | { readonly status: 'delivered'; readonly statusCode: number | null }
  | { readonly status: 'pending'; readonly statusCode: number | null; readonly error: string; readonly retryInMs: number }
  | { readonly status: 'failed'; readonly statusCode: number | null; readonly error: string };

/**
 * Records what an attempt came to. Only while the claim is still this worker's (same attempt
 * count): after a lease ran out and another worker took the row, this one's late answer is dropped.
 */
export async function updateDeliveryOutcome(
  db: CommonQueryMethods,
  ownerUserId: string,
  delivery: { readonly id: string; readonly attempts: number },
  outcome: DeliveryOutcome,
): Promise<void> {
  const error = outcome.status === 'delivered' ? null : outcome.error.slice(0, 500);
  const next = outcome.status === 'pending' ? sql.fragment`now() + make_interval(secs => ${outcome.retryInMs / 1000})` : sql.fragment`next_attempt_at`;
  await db.query(sql.type(z.object({}))`
    update deliveries
    set status = ${outcome.status}, last_status_code = ${outcome.statusCode}, last_error = ${error},
        next_attempt_at = ${next}, finished_at = case when ${outcome.status} = 'pending' then null else now() end
    where owner_user_id = ${ownerUserId} and id = ${delivery.id} and attempts = ${delivery.attempts}`);
}

const countRow = z.object({ count: z.number() });

/** Deliveries waiting to be made (the outbox depth), across owners: for /metrics. */
export async function selectPendingDeliveryCount(db: CommonQueryMethods): Promise<number> {
  return db.oneFirst(sql.type(countRow)`
    select count(*)::int as count from deliveries
    where status = 'pending'`);
}

/**
 * The outbox insert of insertTaskEventDeliveries as the body of a CTE, for a statement that writes
 * the task itself (database/task-writes.ts): one delivery per row of the CTE `events` (`type`,
 * `key`, `data`: what the event says) and enabled webhook of the owner that wants its type.
 */
export const taskEventDeliveries = (ownerUserId: string, timestamp: string) => sql.fragment`
    insert into deliveries (owner_user_id, channel, target_id, event_type, delivery_key, payload)
    select ${ownerUserId}, 'webhook', w.id, e.type, e.key, jsonb_build_object('type', e.type, 'timestamp', ${timestamp}::text, 'data', e.data)
    from events e join webhooks w on e.type = any(w.events)
    where w.owner_user_id = ${ownerUserId} and w.disabled_at is null
    on conflict (owner_user_id, channel, target_id, delivery_key) do nothing`;

/**
 * Writes one webhook delivery per event and enabled webhook of the owner subscribed to
 * `eventType`, in the transaction of the write the events describe (so a rolled-back write sends
 * nothing). `key` makes each event one message per webhook.
 */
export async function insertTaskEventDeliveries(
  db: CommonQueryMethods,
  ownerUserId: string,
  eventType: string,
  events: readonly { readonly key: string; readonly payload: unknown }[],
): Promise<void> {
  if (events.length === 0) return;
  await db.query(sql.type(z.object({}))`
    insert into deliveries (owner_user_id, channel, target_id, event_type, delivery_key, payload)
    select ${ownerUserId}, 'webhook', w.id, ${eventType}, e.key, e.payload
    from webhooks w, jsonb_to_recordset(${sql.jsonb(events.map((event) => ({ key: event.key, payload: event.payload })) as never)}) as e(key text, payload jsonb)
    where w.owner_user_id = ${ownerUserId} and w.disabled_at is null and ${eventType} = any(w.events)
    on conflict (owner_user_id, channel, target_id, delivery_key) do nothing`);
}

/**
 * The reminder.fired events of a batch of fired reminders, one per reminder and enabled webhook of
 * its owner that wants them. Worker-only (across owners), like insertReminderPushDeliveries.
 */
export async function insertReminderWebhookDeliveries(db: CommonQueryMethods, fired: readonly FiredReminderRow[]): Promise<number> {
  const rows = fired.map((reminder) => ({
    owner_user_id: reminder.owner_user_id,
    key: reminderDeliveryKey(reminder),
    payload: { type: 'reminder.fired', timestamp: new Date().toISOString(), data: reminderPayload(reminder) },
  }));
  const result = await db.query(sql.type(z.object({}))`
    insert into deliveries (owner_user_id, channel, target_id, event_type, delivery_key, payload)
    select f.owner_user_id, 'webhook', w.id, 'reminder.fired', f.key, f.payload
    from jsonb_to_recordset(${sql.jsonb(rows as never)}) as f(owner_user_id text, key text, payload jsonb)
    join webhooks w on w.owner_user_id = f.owner_user_id and w.disabled_at is null and 'reminder.fired' = any(w.events)
    on conflict (owner_user_id, channel, target_id, delivery_key) do nothing`);
  return result.rowCount;
}

const webhookDeliveryRow = z.object({
  id: z.string(),
  event_type: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number(),
  last_status_code: z.number().nullable(),
  last_error: z.string().nullable(),
  last_attempt_at: z.string().nullable(),
  next_attempt_at: z.string().nullable(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
});
export type WebhookDeliveryRow = z.infer<typeof webhookDeliveryRow>;

const webhookDeliveryColumns = sql.fragment`
  id, event_type, status, attempts, last_status_code, last_error, last_attempt_at,
  case when status = 'pending' then next_attempt_at end as next_attempt_at, created_at, finished_at`;

/** A ping to one of the owner's webhooks (POST /api/webhooks/{id}/test). */
export async function insertWebhookTestDelivery(
  db: CommonQueryMethods,
  ownerUserId: string,
  webhookId: string,
  payload: unknown,
): Promise<WebhookDeliveryRow> {
  return db.one(sql.type(webhookDeliveryRow)`
    insert into deliveries (owner_user_id, channel, target_id, event_type, delivery_key, payload)
    values (${ownerUserId}, 'webhook', ${webhookId}, 'webhook.test', ${`test:${randomUUID()}`}, ${sql.jsonb(payload as never)})
    returning ${webhookDeliveryColumns}`);
}

/** The webhook's deliveries, newest first. */
export async function selectWebhookDeliveries(
  db: CommonQueryMethods,
  ownerUserId: string,
  webhookId: string,
  limit: number,
): Promise<readonly WebhookDeliveryRow[]> {
  return db.any(sql.type(webhookDeliveryRow)`
    select ${webhookDeliveryColumns} from deliveries
    where owner_user_id = ${ownerUserId} and channel = 'webhook' and target_id = ${webhookId}
    order by created_at desc, id desc
    limit ${limit}`);
}

/** A webhook was disabled: its deliveries still pending are given up, saying why. */
export async function updateWebhookPendingDeliveriesFailed(db: CommonQueryMethods, ownerUserId: string, webhookId: string, reason: string): Promise<void> {
  await db.query(sql.type(z.object({}))`
    update deliveries set status = 'failed', last_error = ${reason}, finished_at = now()
    where owner_user_id = ${ownerUserId} and channel = 'webhook' and target_id = ${webhookId} and status = 'pending'`);
}

/**
 * Forgets finished deliveries (delivered or given up) older than `retentionDays`, at most `limit`
 * at a time, so the outbox does not grow for ever. Worker-only (across owners).
 */
export async function deleteFinishedDeliveries(db: CommonQueryMethods, retentionDays: number, limit: number): Promise<number> {
  const result = await db.query(sql.type(z.object({}))`
    delete from deliveries
    where id in (
      select id from deliveries
      where status <> 'pending' and finished_at < now() - make_interval(days => ${retentionDays})
      limit ${limit}
    )`);
  return result.rowCount;
}
