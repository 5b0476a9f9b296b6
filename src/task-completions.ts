// Completing tasks: the completion history, and recurring tasks rolled forward.
//
// Every write that can complete or reopen a task (create, replace, update, complete, on both route
// sets) ends with `settleCompletion`, in the write's own transaction: it records a completion, or
// removes the one a reopening takes back, and moves a completed recurring task on to its next
// occurrence. `moveTaskToOccurrence` is the one place where the series moves a task's `due_at`
// (roll-forward, skip, undo). Reminders follow in `scheduleTaskReminders` (reminders.ts), which
// every task write runs last in its transaction, these two operations included: it recomputes
// them from the task as written (moved due date, completed or reopened).
import type { CommonQueryMethods } from 'slonik';
import type { AuthenticatedHandler } from './contract.ts';
import { decodeOpaqueToken, encodeOpaqueToken, cursorBinding } from './cursors.ts';
import {
  deleteTaskCompletionById,
  insertTaskCompletion,
  selectCompletionsPage,
  selectLatestTaskCompletion,
  selectTaskCompletionById,
  selectTaskCompletionsPage,
  type CompletionPage,
  type StoredCompletionRow,
} from './database/task-completions.ts';
import {
  selectTaskById,
  updateTaskOccurrence,
  updateTaskReopened,
  type TaskOccurrence,
  type TaskWrite,
  type VersionedTaskRow,
} from './database/tasks.ts';
import { ProblemError, taskNotFound } from './problems.ts';
import { scheduleTaskReminders } from './reminders.ts';
import { nextOccurrence, upcomingOccurrences, wallTimeAt, type SeriesPosition } from './recurrence.ts';
import { taskResult, writeExistingTask } from './versions.ts';
import { recordTaskEvents } from './webhooks.ts';
import { z } from 'zod';

const notRecurring = () =>
  new ProblemError('task-not-recurring', 'This task does not recur; only a recurring task has occurrences to skip or preview.', {
    errors: [{ path: '/params/task_id', keyword: 'invalid', message: 'The task has no recurrence.' }],
  });

const seriesEnded = () =>
  new ProblemError('recurrence-ended', 'The series has no further occurrence (COUNT or UNTIL reached, or it is completed for good).');

const completionNotFound = () => new ProblemError('completion-not-found', 'Completion not found.');

const notLatestCompletion = () => new ProblemError('completion-not-latest', 'Only the task’s latest completion can be undone.');

/** Where a recurring task's series stands, from its row. */
function seriesOf(row: VersionedTaskRow): SeriesPosition | undefined {
  if (row.recurrence === null || row.due_at === null) return undefined;
  return {
    recurrence: row.recurrence,
    anchor: row.recurrence_anchor ?? wallTimeAt(row.due_at, row.recurrence.time_zone),
    index: row.recurrence_index,
  };
}

/**
 * The occurrence a recurring task moves to when completed now: the first one due in the future.
 * With basis `due` it follows the rule from the current occurrence (so occurrences missed while
 * overdue are passed over, not created, and one completed early moves to the one after it); with
 * `completion`, from today in the task's zone at the task's time of day ("three days after I last
 * did it", however early or late that was). Null when the series has ended.
 */
function occurrenceAfterCompletion(series: SeriesPosition, now: number): TaskOccurrence | null {
  if (series.recurrence.basis === 'completion') {
    const today = wallTimeAt(now, series.recurrence.time_zone).slice(0, 10);
    return nextOccurrence({ ...series, anchor: `${today}${series.anchor.slice(10)}` }, now);
  }
  return nextOccurrence(series, now);
}

/**
 * Moves a recurring task to an occurrence of its series: the one place where the series changes a
 * task's `due_at` (roll-forward after a completion, skip, undo). Its reminders are not recomputed
 * here but by the caller's `scheduleTaskReminders`, which every write runs once after everything
 * else it changed on the task. Null when the task is not at a version `write` allows.
 */
export async function moveTaskToOccurrence(
  tx: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  occurrence: TaskOccurrence,
  write: TaskWrite,
): Promise<VersionedTaskRow | null> {
  return updateTaskOccurrence(tx, ownerUserId, taskId, occurrence, write);
}

/**
 * Runs after a write that may have changed the task's completion, in the same transaction and
 * under the same change-clock value: a task that became completed gets a completion record (and,
 * when it recurs and the series goes on, moves to its next occurrence, pending again); a task that
 * was completed and is not any more loses the record of that completion (reopening takes it back).
 * `wasCompleted` is the status before the write (false for a new task).
 */
export async function settleCompletion(
  tx: CommonQueryMethods,
  ownerUserId: string,
  wasCompleted: boolean,
  row: VersionedTaskRow,
  changeSeq: string,
): Promise<VersionedTaskRow> {
  const isCompleted = row.status === 'completed';
  if (wasCompleted && !isCompleted) {
    const latest = await selectLatestTaskCompletion(tx, ownerUserId, row.id);
    if (latest) await deleteTaskCompletionById(tx, ownerUserId, latest.id);
    return row;
  }
  if (wasCompleted || !isCompleted) return row;
  const series = seriesOf(row);
  await insertTaskCompletion(tx, ownerUserId, {
    taskId: row.id,
    occurrenceDueAt: row.due_at,
    occurrenceAnchor: series?.anchor ?? null,
    occurrenceIndex: row.recurrence_index,
    changeSeq,
  });
  if (!series) return row;
  const next = occurrenceAfterCompletion(series, Date.now());
  // The series is used up (COUNT, UNTIL, or nothing within ten years): completed for good.
  if (!next) return row;
  const moved = await moveTaskToOccurrence(tx, ownerUserId, row.id, next, { changeSeq });
  return moved ?? row;
}

// ---------------------------------------------------------------------------------------------
// Operations.

export const skipTaskOccurrence: AuthenticatedHandler<'skipTaskOccurrence'> = async ({ ownerUserId, params, headers }, { db }) => {
  const result = await db.transaction(async (tx) => {
    const moved = await writeExistingTask(tx, ownerUserId, params.task_id, headers['if-match'], async (write) => {
      const task = await selectTaskById(tx, ownerUserId, params.task_id);
      if (!task) return null;
      const series = seriesOf(task);
      if (!series) throw notRecurring();
      if (task.status === 'completed') throw seriesEnded();
      // Skipping follows the rule from the current occurrence whatever the basis: "not this one".
      const next = nextOccurrence(series, Date.now());
      if (!next) throw seriesEnded();
      return moveTaskToOccurrence(tx, ownerUserId, params.task_id, next, write);
    });
    // The due date moved: relative reminders move with it, as after a completion's roll-forward.
    return changedTask(tx, ownerUserId, await scheduleTaskReminders(tx, ownerUserId, moved, undefined));
  });
  return result;
};

export const undoTaskCompletion: AuthenticatedHandler<'undoTaskCompletion'> = async ({ ownerUserId, params, headers }, { db }) => {
  const result = await db.transaction(async (tx) => {
    const undone = await writeExistingTask(tx, ownerUserId, params.task_id, headers['if-match'], async (write) => {
      const task = await selectTaskById(tx, ownerUserId, params.task_id);
      if (!task) return null;
      const latest = await selectLatestTaskCompletion(tx, ownerUserId, params.task_id);
      if (latest?.id !== params.completion_id) {
        if (await selectTaskCompletionById(tx, ownerUserId, params.task_id, params.completion_id)) throw notLatestCompletion();
        throw completionNotFound();
      }
      await deleteTaskCompletionById(tx, ownerUserId, latest.id);
      // A recurring task that moved on goes back to the occurrence completed; anything else (a
      // one-off task, a series completed for good) is simply reopened where it is.
      if (task.recurrence !== null && latest.occurrence_due_at !== null && task.status !== 'completed') {
        return moveTaskToOccurrence(tx, ownerUserId, params.task_id, restoredOccurrence(latest), write);
      }
      return updateTaskReopened(tx, ownerUserId, params.task_id, write);
    });
    // Back on the earlier due date, or reopened: reminders follow as after any write. One whose
    // time has now passed stays unsent (the contract: never retroactively).
    return changedTask(tx, ownerUserId, await scheduleTaskReminders(tx, ownerUserId, undone, undefined));
  });
  return result;
};

/** The answer to a skip or an undo, and its task.updated event for webhooks (in the same transaction). */
async function changedTask(tx: CommonQueryMethods, ownerUserId: string, row: VersionedTaskRow) {
  const result = taskResult(200, row);
  await recordTaskEvents(tx, ownerUserId, 'task.updated', [result.body]);
  return result;
}

const restoredOccurrence = (completion: StoredCompletionRow): TaskOccurrence => ({
  dueAt: completion.occurrence_due_at!,
  anchor: completion.occurrence_anchor,
  index: completion.occurrence_index,
});

export const listTaskOccurrences: AuthenticatedHandler<'listTaskOccurrences'> = async ({ ownerUserId, params, query }, { db }) => {
  const task = await selectTaskById(db, ownerUserId, params.task_id);
  if (!task) throw taskNotFound();
  const series = seriesOf(task);
  if (!series) throw notRecurring();
  if (task.status === 'completed') return { status: 200, body: { occurrences: [] } };
  const limit = query.limit ?? 5;
  // The current due date first, then the series after it (its past included: they are the dates
  // the rule gives, whether or not the task is overdue).
  const following = upcomingOccurrences(series, Date.parse(task.due_at!), limit - 1);
  return { status: 200, body: { occurrences: [task.due_at!, ...following.map((occurrence) => occurrence.dueAt)] } };
};

// ---------------------------------------------------------------------------------------------
// The history, paged like listTasks: an opaque cursor bound to the caller and the query.

const cursorVersion = 1;
const taskCursor = z.strictObject({ v: z.literal(cursorVersion), b: z.string(), p: z.string().regex(/^[0-9]{1,18}$/) });
const allCursor = z.strictObject({
  v: z.literal(cursorVersion),
  b: z.string(),
  p: z.tuple([z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/).refine((value) => !Number.isNaN(Date.parse(value))), z.string().regex(/^[0-9]{1,18}$/)]),
});

const invalidCursor = () =>
  new ProblemError('cursor-invalid', 'The cursor is not valid (damaged, or not issued by this API); start again without it.', {
    errors: [{ path: '/query/cursor', keyword: 'invalid', message: 'The cursor is damaged or was not issued by this API.' }],
  });

const foreignCursor = () =>
  new ProblemError('cursor-mismatch', 'The cursor was issued for another query or another user; start again without it.', {
    errors: [{ path: '/query/cursor', keyword: 'mismatch', message: 'The cursor was issued for another query or another user.' }],
  });

function decodeWith<T extends { b: string }>(cursor: string | undefined, schema: z.ZodType<T>, binding: string): T | undefined {
  if (cursor === undefined) return undefined;
  const decoded = decodeOpaqueToken(cursor, schema);
  if (!decoded) throw invalidCursor();
  if (decoded.b !== binding) throw foreignCursor();
  return decoded;
}

type Parameter = readonly [string, string | number];
const queryOf = (parameters: readonly Parameter[]) => parameters.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&');

function pageResult(requestPath: string, parameters: readonly Parameter[], limit: number, page: CompletionPage, nextCursor: () => string) {
  const headers: Record<string, string> = {};
  if (page.hasMore) headers.Link = `<${requestPath}?${queryOf([...parameters, ['limit', limit], ['cursor', nextCursor()]])}>; rel="next"`;
  const body = page.completions.map(({ id, task_id, occurrence_due_at, completed_at }) => ({ id, task_id, occurrence_due_at, completed_at }));
  return { status: 200 as const, body, headers };
}

export const listTaskCompletions: AuthenticatedHandler<'listTaskCompletions'> = async ({ ownerUserId, params, query, requestPath }, { db }) => {
  const { limit = 50 } = query;
  const binding = cursorBinding(ownerUserId, `completions of ${params.task_id}`);
  const after = decodeWith(query.cursor, taskCursor, binding)?.p;
  const task = await selectTaskById(db, ownerUserId, params.task_id);
  if (!task) throw taskNotFound();
  const page = await selectTaskCompletionsPage(db, ownerUserId, params.task_id, { limit, after });
  return pageResult(requestPath, [], limit, page, () =>
    encodeOpaqueToken({ v: cursorVersion, b: binding, p: page.completions.at(-1)!.change_seq }),
  );
};

export const listCompletions: AuthenticatedHandler<'listCompletions'> = async ({ ownerUserId, query, requestPath }, { db }) => {
  const { limit = 50, since, until } = query;
  const parameters: Parameter[] = [];
  if (since !== undefined) parameters.push(['since', since]);
  if (until !== undefined) parameters.push(['until', until]);
  const binding = cursorBinding(ownerUserId, `completions ${queryOf(parameters)}`);
  const after = decodeWith(query.cursor, allCursor, binding)?.p;
  const page = await selectCompletionsPage(db, ownerUserId, { since, until, limit, after });
  return pageResult(requestPath, parameters, limit, page, () => {
    const last = page.completions.at(-1)!;
    return encodeOpaqueToken({ v: cursorVersion, b: binding, p: [last.completed_at, last.change_seq] });
  });
};
