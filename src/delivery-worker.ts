// The delivery worker: the loop that fires due reminders and delivers what the outbox holds. It keeps
// nothing that matters in memory: every poll asks PostgreSQL what is due (reminder rows, delivery
// rows), claims it with FOR UPDATE SKIP LOCKED so instances never take the same row, and writes the
// outcome back. A process that stops (or dies) mid-way loses nothing: what it had not fired is still
// pending; a delivery it had claimed but not finished becomes claimable again when its lease ends.
//
// Why no job engine (graphile-worker, pg-boss): the reminder row is already the schedule (fire_at,
// indexed where pending), recomputed in the transaction of the task write that moves it. An engine
// would hold a second copy of each occurrence as a job, to be rescheduled or cancelled whenever
// due_at, the reminders or completion change. And both must work through PgBouncer 1.18 in
// transaction mode: graphile-worker wakes on LISTEN/NOTIFY (lost through a transaction pooler) and
// names its prepared statements unless told not to; pg-boss polls, but brings its own schema,
// migrations and maintenance jobs. Polling a partial index with SKIP LOCKED is all either would do here.
import type { Logger } from 'pino';
import type { VapidKeys } from './contract.ts';
import {
  deleteFinishedDeliveries,
  insertReminderPushDeliveries,
  insertReminderWebhookDeliveries,
  updateDeliveryOutcome,
  updateWebhookPendingDeliveriesFailed,
  updateDueDeliveriesClaimed,
  type ClaimedDelivery,
  type DeliveryOutcome,
} from './database/deliveries.ts';
import type { DatabasePool } from './database/pool.ts';
import { deletePushSubscriptionById, selectPushTarget } from './database/push-subscriptions.ts';
import { updateDueTaskRemindersFired } from './database/task-reminders.ts';
import { selectWebhookTarget, updateWebhookFailed, updateWebhookSucceeded } from './database/webhooks.ts';
import { recordDelivery, recordReminderFired } from './delivery-metrics.ts';
import type { OutboundPolicy } from './outbound.ts';
import { pushOnce, type AttemptResult } from './push.ts';
import { sendWebhookOnce } from './webhooks.ts';

export type DeliveryWorkerOptions = {
  readonly db: DatabasePool;
  readonly log: Logger;
  /** How often to look for due work when the last look found none. */
  readonly pollMs: number;
  /** Deliveries in flight at once. */
  readonly concurrency: number;
  /** The first retry waits about this long, each next one twice as long (±20 % jitter), at most 6 hours. */
  readonly retryBaseMs: number;
  /** A delivery still failing this long after it was written is given up. */
  readonly giveUpMs: number;
  /** A webhook whose every delivery has failed this long is disabled. */
  readonly webhookDisableAfterMs: number;
  readonly outbound: OutboundPolicy;
  /** Absent: this process cannot push (push deliveries wait for one that can). */
  readonly vapid?: VapidKeys;
  /** Reminders fired per claim (one transaction). */
  readonly batchSize?: number;
};

export type DeliveryWorker = {
  /** Stops claiming and waits (up to graceMs) for the work in flight; false when it had to give up on it. */
  readonly stop: (graceMs: number) => Promise<boolean>;
};

const maxRetryDelayMs = 6 * 3600 * 1000;
/** How long finished deliveries stay listed (GET /api/webhooks/{id}/deliveries), and how often the worker prunes them. */
const deliveryRetentionDays = 30;
const pruneEveryMs = 3600 * 1000;

export function startDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const { db, log } = options;
  const batchSize = options.batchSize ?? 100;
  // Longer than any call may take, so a live worker's claim never lapses while its call runs.
  const leaseMs = options.outbound.timeoutMs * 2 + 5_000;
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  let again = false;
  let prunedAt = 0;

  const fireDueReminders = async (): Promise<number> => {
    const fired = await db.transaction(async (tx) => {
      const rows = await updateDueTaskRemindersFired(tx, batchSize);
      // The messages are written in the transaction that marks the occurrences fired: both or neither.
      if (rows.length > 0) {
        await insertReminderPushDeliveries(tx, rows);
        await insertReminderWebhookDeliveries(tx, rows);
      }
      return rows;
    });
    for (const reminder of fired) {
      recordReminderFired();
      log.info(
        { owner_user_id: reminder.owner_user_id, task_id: reminder.task_id, reminder_id: reminder.reminder_id, fire_at: reminder.fire_at },
        'reminder fired',
      );
    }
    return fired.length;
  };

  const attempt = async (delivery: ClaimedDelivery): Promise<AttemptResult> => {
    if (delivery.channel === 'push') {
      const target = await selectPushTarget(db, delivery.owner_user_id, delivery.target_id);
      if (!target) return { kind: 'failed', statusCode: null, error: 'the push subscription was deleted' };
      if (!options.vapid) return { kind: 'retry', statusCode: null, error: 'this process has no VAPID keys' };
      const result = await pushOnce(target, delivery.payload, delivery.delivery_key, options.vapid, options.outbound);
      // The browser unsubscribed (RFC 8030 §7.3): forget the subscription.
      if (result.kind === 'gone') await deletePushSubscriptionById(db, delivery.owner_user_id, delivery.target_id);
      return result;
    }
    const target = await selectWebhookTarget(db, delivery.owner_user_id, delivery.target_id);
    if (!target) return { kind: 'failed', statusCode: null, error: 'the webhook was deleted' };
    // A ping still goes to a disabled webhook: it is how its owner checks a fix before enabling it.
    if (!target.enabled && delivery.event_type !== 'webhook.test') return { kind: 'failed', statusCode: null, error: 'the webhook is disabled' };
    const result = await sendWebhookOnce(target, delivery.id, delivery.payload, options.outbound);
    if (result.kind === 'delivered') {
      await updateWebhookSucceeded(db, delivery.owner_user_id, delivery.target_id);
    } else if (await updateWebhookFailed(db, delivery.owner_user_id, delivery.target_id, options.webhookDisableAfterMs)) {
      const reason = 'the webhook was disabled after failing for too long';
      await updateWebhookPendingDeliveriesFailed(db, delivery.owner_user_id, delivery.target_id, reason);
      log.warn({ owner_user_id: delivery.owner_user_id, webhook_id: delivery.target_id }, 'webhook disabled: every delivery failed for WEBHOOK_DISABLE_AFTER_SECONDS');
      return { kind: 'failed', statusCode: result.statusCode, error: `${result.error ?? result.kind}; ${reason}` };
    }
    return result;
  };

  const outcomeOf = (delivery: ClaimedDelivery, result: AttemptResult): DeliveryOutcome => {
    if (result.kind === 'delivered') return { status: 'delivered', statusCode: result.statusCode };
    const error = result.error ?? result.kind;
    if (result.kind !== 'retry') return { status: 'failed', statusCode: result.statusCode, error };
    const delay = Math.min(options.retryBaseMs * 2 ** (delivery.attempts - 1), maxRetryDelayMs) * (0.8 + Math.random() * 0.4);
    if (Date.now() + delay - Date.parse(delivery.created_at) > options.giveUpMs) {
      return { status: 'failed', statusCode: result.statusCode, error: `${error} (given up after ${delivery.attempts} attempts)` };
    }
    return { status: 'pending', statusCode: result.statusCode, error, retryInMs: Math.round(delay) };
  };

  const deliver = async (delivery: ClaimedDelivery) => {
    const startedAt = performance.now();
    try {
      const result = await attempt(delivery);
      const outcome = outcomeOf(delivery, result);
      await updateDeliveryOutcome(db, delivery.owner_user_id, delivery, outcome);
      const counted = outcome.status === 'failed' && result.kind === 'retry' ? 'failed' : result.kind;
      recordDelivery(delivery.channel, counted);
      // One line per attempt.
      log.info(
        {
          channel: delivery.channel,
          delivery_id: delivery.id,
          owner_user_id: delivery.owner_user_id,
          target_id: delivery.target_id,
          event_type: delivery.event_type,
          delivery_key: delivery.delivery_key,
          attempt: delivery.attempts,
          outcome: counted,
          status_code: result.statusCode,
          duration_ms: Math.round(performance.now() - startedAt),
          ...(outcome.status === 'pending' ? { retry_in_ms: outcome.retryInMs } : {}),
          ...(outcome.status === 'delivered' ? {} : { error: outcome.error }),
        },
        'delivery attempt',
      );
    } catch (error) {
      // The database failed us mid-way: the claim's lease runs out and the delivery is tried again.
      log.warn({ err: error, delivery_id: delivery.id }, 'delivery could not be recorded; it will be retried when its lease ends');
    }
  };

  const claimDeliveries = async (): Promise<boolean> => {
    const free = options.concurrency - inFlight.size;
    if (free <= 0) return false;
    const claimed = await updateDueDeliveriesClaimed(db, free, leaseMs);
    for (const delivery of claimed) {
      const running = deliver(delivery).finally(() => {
        inFlight.delete(running);
        // A slot is free: look for more at once rather than at the next poll.
        if (!stopping) void tick();
      });
      inFlight.add(running);
    }
    return claimed.length === free;
  };

  // One tick at a time; a tick asked for while one runs makes that one go round again.
  const tick = (): Promise<void> => {
    if (ticking) {
      again = true;
      return ticking;
    }
    ticking = (async () => {
      try {
        do {
          again = false;
          // A full batch means more may be due: keep claiming (a backlog after a restart).
          while (!stopping && (await fireDueReminders()) === batchSize);
          while (!stopping && (await claimDeliveries()));
        } while (again && !stopping);
        if (!stopping && Date.now() - prunedAt > pruneEveryMs) {
          prunedAt = Date.now();
          const pruned = await deleteFinishedDeliveries(db, deliveryRetentionDays, 10_000);
          if (pruned > 0) log.info({ pruned, retention_days: deliveryRetentionDays }, 'pruned finished deliveries');
        }
      } catch (error) {
        log.warn({ err: error }, 'the delivery worker could not reach the database; retrying at the next poll');
      } finally {
        ticking = undefined;
      }
    })();
    return ticking;
  };

  const schedule = () => {
    if (stopping) return;
    timer = setTimeout(() => void tick().finally(schedule), options.pollMs);
    timer.unref();
  };
  // The first look at once: whatever came due while no instance was running fires now.
  void tick().finally(schedule);
  log.info({ pollMs: options.pollMs, concurrency: options.concurrency, push: options.vapid !== undefined }, 'delivery worker running');

  return {
    stop: async (graceMs) => {
      stopping = true;
      clearTimeout(timer);
      let timeout: NodeJS.Timeout | undefined;
      const settled = (async () => {
        await ticking;
        await Promise.all([...inFlight]);
        return true;
      })();
      const inTime = await Promise.race([
        settled,
        new Promise<boolean>((resolve) => {
          timeout = setTimeout(() => resolve(false), graceMs);
        }),
      ]);
      clearTimeout(timeout);
      return inTime;
    },
  };
}
