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
import type { DatabasePool } from './database/pool.ts';
import { updateDueTaskRemindersFired, type FiredReminderRow } from './database/task-reminders.ts';
import { recordReminderFired } from './delivery-metrics.ts';

export type DeliveryWorkerOptions = {
  readonly db: DatabasePool;
  readonly log: Logger;
  /** How often to look for due work when the last look found none. */
  readonly pollMs: number;
  /** Reminders fired per claim (one transaction). */
  readonly batchSize?: number;
  /** Called, in the claiming transaction, with each batch of fired reminders (writes their deliveries). */
  readonly onFired?: (tx: Parameters<Parameters<DatabasePool['transaction']>[0]>[0], fired: readonly FiredReminderRow[]) => Promise<void>;
};

export type DeliveryWorker = {
  /** Stops polling and waits (up to graceMs) for the work in flight; false when it had to give up on it. */
  readonly stop: (graceMs: number) => Promise<boolean>;
};

export function startDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const batchSize = options.batchSize ?? 100;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const fireDueReminders = async (): Promise<number> => {
    const fired = await options.db.transaction(async (tx) => {
      const rows = await updateDueTaskRemindersFired(tx, batchSize);
      if (rows.length > 0) await options.onFired?.(tx, rows);
      return rows;
    });
    for (const reminder of fired) {
      recordReminderFired();
      options.log.info(
        { owner_user_id: reminder.owner_user_id, task_id: reminder.task_id, reminder_id: reminder.reminder_id, fire_at: reminder.fire_at },
        'reminder fired',
      );
    }
    return fired.length;
  };

  const tick = async () => {
    try {
      // A full batch means more may be due: keep claiming before sleeping (a backlog after a restart).
      while (!stopping && (await fireDueReminders()) === batchSize);
    } catch (error) {
      options.log.warn({ err: error }, 'the delivery worker could not reach the database; retrying at the next poll');
    }
  };

  const schedule = () => {
    if (stopping) return;
    timer = setTimeout(() => {
      running = tick().finally(schedule);
    }, options.pollMs);
    timer.unref();
  };
  // The first look at once: whatever came due while no instance was running fires now.
  running = tick().finally(schedule);
  options.log.info({ pollMs: options.pollMs }, 'delivery worker running');

  return {
    stop: async (graceMs) => {
      stopping = true;
      clearTimeout(timer);
      let timeout: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([
        running.then(() => true),
        new Promise<boolean>((resolve) => {
          timeout = setTimeout(() => resolve(false), graceMs);
        }),
      ]);
      clearTimeout(timeout);
      return inTime;
    },
  };
}
