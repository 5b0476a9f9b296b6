// Outbox queries: one SQL statement each. Those a request runs, and the worker's writes about one
// delivery, are scoped by the owner (the worker knows it from the row it claimed). The two that
// read across owners are the worker's on purpose: writing the deliveries of a batch of fired
// reminders (each joined to its own owner's targets) and claiming due deliveries.
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

/** Deliveries waiting to be made (the outbox depth), across owners: for /metrics. */
export async function selectPendingDeliveryCount(db: CommonQueryMethods): Promise<number> {
  return db.oneFirst(sql.type(z.object({ count: z.number() }))`
    select count(*)::int as count from deliveries
    where status = 'pending'`);
}
