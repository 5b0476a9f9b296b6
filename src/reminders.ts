// Reminders on tasks: what a write sends (checked here, beyond what the contract can say), and the
// step every task write runs in its transaction after changing the task, so that fire_at follows
// due_at, completion cancels, and a rolled-back write changes no reminder.
import { randomUUID } from 'node:crypto';
import type { CommonQueryMethods } from 'slonik';
import type { AuthenticatedHandler, HandlerInput } from './contract.ts';
import {
  deleteTaskRemindersExcept,
  selectDueTaskReminders,
  updateTaskReminderSchedule,
  upsertTaskReminders,
  type ReminderDefinition,
} from './database/task-reminders.ts';
import { selectTaskById, type VersionedTaskRow } from './database/tasks.ts';
import { ProblemError } from './problems.ts';

export type ReminderInput = NonNullable<HandlerInput<'createTask'>['body']['reminders']>[number];

const maxBeforeDueSeconds = 30 * 24 * 3600;

/** Seconds in an ISO 8601 duration the contract's pattern admitted (weeks, days, hours, minutes, seconds). */
export function durationSeconds(duration: string): number {
  const match = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(duration);
  if (!match) return Number.NaN;
  const [weeks, days, hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0)) as [number, number, number, number, number];
  return (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds;
}

/** The reminders a write sent, as stored; refuses what the contract cannot express (422). */
export function reminderDefinitions(inputs: readonly ReminderInput[] | undefined): ReminderDefinition[] | undefined {
  if (inputs === undefined) return undefined;
  const seen = new Set<string>();
  return inputs.map((input, index) => {
    const id = input.id ?? randomUUID();
    if (seen.has(id)) {
      throw new ProblemError('reminder-id-repeated', 'Two reminders of the task have the same id.', {
        errors: [{ path: `/body/reminders/${index}/id`, keyword: 'duplicate', message: 'Each reminder of a task needs its own id.' }],
      });
    }
    seen.add(id);
    if ('remind_at' in input && input.remind_at !== undefined) {
      return { id, remindAt: input.remind_at, beforeDue: null, beforeDueSeconds: null };
    }
    const beforeDue = (input as { before_due: string }).before_due;
    const seconds = durationSeconds(beforeDue);
    if (!(seconds <= maxBeforeDueSeconds)) {
      throw new ProblemError('reminder-too-early', 'A reminder can be at most 30 days (P30D) before the due date.', {
        errors: [{ path: `/body/reminders/${index}/before_due`, keyword: 'too_large', message: 'A reminder can be at most P30D before the due date.' }],
      });
    }
    return { id, remindAt: null, beforeDue, beforeDueSeconds: seconds };
  });
}

const relativeReminderWithoutDueDate = () =>
  new ProblemError('reminder-needs-due-date', 'A reminder relative to the due date (before_due) needs a task with a due_at.', {
    errors: [{ path: '/body/due_at', keyword: 'required', message: 'A task with before_due reminders needs a due date.' }],
  });

/**
 * Runs after every write that leaves the task in place (create, replace, update, complete), in its
 * transaction: replaces the reminders when the request sent them, recomputes their schedule from
 * the task as written, and returns the task as it now reads (its reminders included).
 */
export async function scheduleTaskReminders(
  tx: CommonQueryMethods,
  ownerUserId: string,
  row: VersionedTaskRow,
  definitions: readonly ReminderDefinition[] | undefined,
): Promise<VersionedTaskRow> {
  if (definitions !== undefined) {
    await deleteTaskRemindersExcept(tx, ownerUserId, row.id, definitions.map((definition) => definition.id));
    await upsertTaskReminders(tx, ownerUserId, row.id, definitions);
  } else if (row.reminders.length === 0) {
    // Nothing to schedule, and the row already says so.
    return row;
  }
  if ((await updateTaskReminderSchedule(tx, ownerUserId, row.id)) > 0) throw relativeReminderWithoutDueDate();
  return (await selectTaskById(tx, ownerUserId, row.id)) ?? row;
}

export const listDueReminders: AuthenticatedHandler<'listDueReminders'> = async ({ ownerUserId, query }, { db }) => {
  const rows = await selectDueTaskReminders(db, ownerUserId, query.until, query.limit ?? 100);
  return { status: 200, body: [...rows] };
};
