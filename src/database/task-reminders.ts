// Reminder queries: one SQL statement each. The statements an API request runs take the owner and
// put `owner_user_id = ${ownerUserId}` in their WHERE (or VALUES). The scheduler's claim is the one
// statement that reads across owners, on purpose: it runs in the delivery worker, never for a
// request, and everything it writes carries the owner of the row it claimed.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

export type ReminderDefinition = {
  readonly id: string;
  readonly remindAt: string | null;
  readonly beforeDue: string | null;
  readonly beforeDueSeconds: number | null;
};

/** Deletes the task's reminders whose ids are not in `keptIds` (the list a write sent replaces them). */
export async function deleteTaskRemindersExcept(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  keptIds: readonly string[],
): Promise<void> {
  await db.query(sql.type(z.object({}))`
    delete from task_reminders
    where owner_user_id = ${ownerUserId} and task_id = ${taskId} and not (id = any(${sql.array([...keptIds], 'uuid')}))`);
}

/**
 * Writes the task's reminders in the order given: new ids are inserted, ids the task already has
 * keep their row (and so their last firing) with the definition sent. fire_at is computed after.
 */
export async function upsertTaskReminders(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  reminders: readonly ReminderDefinition[],
): Promise<void> {
  if (reminders.length === 0) return;
  await db.query(sql.type(z.object({}))`
    insert into task_reminders (owner_user_id, task_id, id, position, remind_at, before_due, before_due_seconds)
    select ${ownerUserId}, ${taskId}, r.id, r.position - 1, r.remind_at, r.before_due, r.before_due_seconds
    from unnest(
      ${sql.array(reminders.map((reminder) => reminder.id), 'uuid')},
      ${sql.array(reminders.map((reminder) => reminder.remindAt), 'timestamptz')},
      ${sql.array(reminders.map((reminder) => reminder.beforeDue), 'text')},
      ${sql.array(reminders.map((reminder) => reminder.beforeDueSeconds), 'int4')}
    ) with ordinality as r(id, remind_at, before_due, before_due_seconds, position)
    on conflict (owner_user_id, task_id, id) do update
    set position = excluded.position, remind_at = excluded.remind_at,
        before_due = excluded.before_due, before_due_seconds = excluded.before_due_seconds`);
}

const missingDueRow = z.object({ missing_due: z.boolean() });
const lagRow = z.object({ lag: z.number() });

const fireAt = sql.fragment`coalesce(r.remind_at, t.due_at - make_interval(secs => r.before_due_seconds))`;

/**
 * The recomputation of updateTaskReminderSchedule as an UPDATE without its RETURNING, from `task`
 * (a relation holding the task as written: due_at, status), so that a statement that writes the
 * task itself can run it as a CTE (database/task-writes.ts).
 */
export const taskReminderRescheduling = (ownerUserId: string, taskId: string, task: ReturnType<typeof sql.fragment>) => sql.fragment`
    update task_reminders r
    set fire_at = ${fireAt},
        pending = coalesce(t.status <> 'completed' and (
          (${fireAt} is not distinct from r.fire_at and r.pending)
          or (${fireAt} > now() and ${fireAt} is distinct from r.fired_for)
        ), false)
    from ${task} t
    where r.owner_user_id = ${ownerUserId} and r.task_id = ${taskId}`;

/**
 * Recomputes fire_at of the task's reminders from the task as it now is (due_at, status), in the
 * transaction of the write that changed it, and decides which are pending:
 * - a completed task's reminders never are;
 * - an occurrence that was pending and did not move stays pending, even if its time has passed
 *   (it is due, and the scheduler has not fired it yet: an unrelated edit must not cancel it);
 * - a new or moved occurrence is pending only when it is still ahead (never retroactive) and is
 *   not the occurrence that already fired.
 * Returns how many relative reminders have no due date to count from (the write is then refused).
 */
export async function updateTaskReminderSchedule(db: CommonQueryMethods, ownerUserId: string, taskId: string): Promise<number> {
  const task = sql.fragment`(select due_at, status from tasks where owner_user_id = ${ownerUserId} and id = ${taskId})`;
  const rows = await db.any(sql.type(missingDueRow)`${taskReminderRescheduling(ownerUserId, taskId, task)}
    returning r.fire_at is null as missing_due`);
  return rows.filter((row) => row.missing_due).length;
}

const dueReminderRow = z.object({
  reminder_id: z.string(),
  fire_at: z.string(),
  task: z.object({ id: z.string(), title: z.string(), due_at: z.string().nullable() }),
});
export type DueReminderRow = z.infer<typeof dueReminderRow>;

const isoUtc = (column: ReturnType<typeof sql.fragment>) =>
  sql.fragment`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The owner's pending reminders due at or before `until`, earliest first. */
export async function selectDueTaskReminders(
  db: CommonQueryMethods,
  ownerUserId: string,
  until: string,
  limit: number,
): Promise<readonly DueReminderRow[]> {
  return db.any(sql.type(dueReminderRow)`
    select r.id as reminder_id, r.fire_at,
           json_build_object('id', t.id, 'title', t.title, 'due_at', ${isoUtc(sql.fragment`t.due_at`)}) as task
    from task_reminders r
    join (select id, title, due_at from tasks where owner_user_id = ${ownerUserId}) t on t.id = r.task_id
    where r.owner_user_id = ${ownerUserId} and r.pending and r.fire_at <= ${until}::timestamptz
    order by r.fire_at, r.id
    limit ${limit}`);
}

const firedReminderRow = z.object({
  owner_user_id: z.string(),
  task_id: z.string(),
  reminder_id: z.string(),
  fire_at: z.string(),
  title: z.string(),
  due_at: z.string().nullable(),
});
export type FiredReminderRow = z.infer<typeof firedReminderRow>;

/**
 * The scheduler's claim (across owners, see the top of this file): marks up to `limit` due
 * reminders as fired and returns them with their task. SKIP LOCKED lets instances claim disjoint
 * batches without waiting on each other; each row is claimed by exactly one transaction, and its
 * deliveries are written in that same transaction (deliveries.ts), so an occurrence is fired once.
 */
export async function updateDueTaskRemindersFired(db: CommonQueryMethods, limit: number): Promise<readonly FiredReminderRow[]> {
  return db.any(sql.type(firedReminderRow)`
    with due as (
      select owner_user_id, task_id, id from task_reminders
      where pending and fire_at <= now()
      order by fire_at
      limit ${limit}
      for update skip locked
    )
    update task_reminders r
    set pending = false, fired_for = r.fire_at, last_fired_at = now()
    from due, tasks t
    where r.owner_user_id = due.owner_user_id and r.task_id = due.task_id and r.id = due.id
      and t.id = r.task_id and t.owner_user_id = r.owner_user_id
    returning r.owner_user_id, r.task_id, r.id as reminder_id, r.fire_at, t.title, t.due_at`);
}

/** Seconds since the oldest due reminder that has not fired yet (0 when none): the scheduler's lag. */
export async function selectReminderLagSeconds(db: CommonQueryMethods): Promise<number> {
  return db.oneFirst(sql.type(lagRow)`
    select coalesce(extract(epoch from now() - min(fire_at)), 0)::float8 as lag
    from task_reminders
    where pending and fire_at <= now()`);
}
