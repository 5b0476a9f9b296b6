// One handler per operationId. A handler makes the HTTP decisions (which queries, which status,
// 404 or 200); each query is one SQL statement in database/. The user-scoped compatibility
// routes (`/api/{user_id}/tasks…`) reuse the same handlers: their `{user_id}` has already been
// checked against the token, and the owner always comes from the token.
import type { AuthenticatedHandler, HandlerInput, HandlerMap, HandlerResult, TaskSort, TaskStatus } from './contract.ts';
import { cursorBinding, decodeCursor, encodeCursor } from './cursors.ts';
import { classifyDatabaseError } from './database/errors.ts';
import { positionOf, priorityRanking, sortsWithinSiblings, type SortField } from './database/task-sorts.ts';
import { pingDatabase } from './database/pool.ts';
import { documentationHandlers } from './docs.ts';
import { selectListById } from './database/lists.ts';
import { createList, deleteList, getList, listLists, moveList, updateList } from './lists.ts';
import { moveTask, placementOfNewTask, positionIn, unknownList, unknownParent } from './manual-order.ts';
import {
  deleteCompletedTasks,
  deleteSubtasksOf,
  selectTaskPlacement,
  siblingGroupKey,
  deleteTaskById,
  insertTask,
  selectTaskById,
  selectTaskSummary,
  selectTasksPage,
  updateTaskById,
  type NewTask,
  type StatusChange,
  type TaskChanges,
  type TaskFilters,
} from './database/tasks.ts';
import { deleteTaskWithClock, insertTaskWithClock, selectTaskInsertionPoint, updateTaskWithClock } from './database/task-writes.ts';
import type { CommonQueryMethods } from 'slonik';
import { advanceChangeClock, insertTaskTombstones, purgeExpiredTaskTombstones } from './database/task-changes.ts';
import { idempotently } from './idempotency.ts';
import { listTaskChanges } from './change-feed.ts';
import { expectedVersions, oneStatementResult, taskResult, writeExistingTask } from './versions.ts';
import { ProblemError, retryAfterSeconds, taskNotFound } from './problems.ts';
import { checkNewSeries, normaliseRecurrence, recurrenceNeedsDueDate } from './recurrence.ts';
import {
  listCompletions,
  listTaskCompletions,
  listTaskOccurrences,
  settleCompletion,
  skipTaskOccurrence,
  undoTaskCompletion,
} from './task-completions.ts';
import { deleteTaskCompletionsOfTasks } from './database/task-completions.ts';
import { createPushSubscription, deletePushSubscription, getPushPublicKey, listPushSubscriptions } from './push.ts';
import { listDueReminders, reminderDefinitions, scheduleTaskReminders } from './reminders.ts';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listWebhookDeliveries,
  listWebhooks,
  recordTaskEvents,
  testWebhook,
  updateWebhook,
} from './webhooks.ts';

type CompletionFields = { readonly completed?: boolean; readonly status?: TaskStatus };

/** Reads `completed` and `status` together; when both are sent they must agree. */
function statusChange(fields: CompletionFields): StatusChange | undefined {
  const { completed, status } = fields;
  if (status !== undefined && completed !== undefined && (status === 'completed') !== completed) {
    throw new ProblemError('completion-status-conflict', 'completed and status disagree.', {
      errors: [{ path: '/body/status', keyword: 'conflict', message: 'Status must be "completed" exactly when completed is true.' }],
    });
  }
  if (status !== undefined) return { kind: 'set', status };
  if (completed !== undefined) return { kind: completed ? 'complete' : 'reopen' };
  return undefined;
}

/** A new task is pending unless the request says otherwise. */
function initialStatus(change: StatusChange | undefined): TaskStatus {
  if (change?.kind === 'set') return change.status;
  return change?.kind === 'complete' ? 'completed' : 'pending';
}

/**
 * Tags as stored: each trimmed (the contract has checked 1–40 characters once trimmed), and one
 * that repeats an earlier tag case-insensitively dropped, so the first spelling and the order stay.
 */
function normaliseTags(tags: readonly string[]): string[] {
  const seen = new Set<string>();
  return tags
    .map((tag) => tag.trim())
    .filter((tag) => {
      const key = tag.toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}

/**
 * The search words of `q`: a letter or digit followed by letters, combining marks and digits,
 * lower-cased. Nothing else of the input reaches the tsquery, so no input can make its syntax
 * invalid.
 */
function searchWords(q: string): string[] {
  return (q.match(/[\p{L}\p{N}][\p{L}\p{M}\p{N}]*/gu) ?? []).map((word) => word.toLowerCase());
}

const statusOrder: readonly TaskStatus[] = ['pending', 'in_progress', 'completed'];
const defaultSort: TaskSort = '-created_at';

type ListQuery = HandlerInput<'listTasks'>['query'];
type UrlParameter = readonly [name: string, value: string | number];

/** `name=value` pairs for a parameter that is absent, single or repeated. */
const asParameters = (name: string, values: readonly string[] | string | boolean | undefined): UrlParameter[] =>
  values === undefined ? [] : (Array.isArray(values) ? values : [values]).map((value) => [name, String(value)] as const);

/**
 * The filters, normalised (duplicates gone, tags trimmed and lower-cased, the search reduced to
 * its words), and the same list as URL parameters in a fixed order: the `Link` URLs carry them,
 * and a cursor is bound to them, so two spellings of one query share their cursors.
 */
function listFilters(query: ListQuery): { filters: TaskFilters; parameters: UrlParameter[] } {
  const statuses = query.status && statusOrder.filter((status) => query.status!.includes(status));
  const priorities = query.priority && priorityRanking.filter((priority) => query.priority!.includes(priority));
  const tags = query.tag && normaliseTags(query.tag.map((tag) => tag.toLowerCase()));
  const words = query.q === undefined ? [] : searchWords(query.q);
  const filters: TaskFilters = {
    statuses,
    completed: query.completed,
    priorities,
    tags,
    searchWords: words.length > 0 ? words : undefined,
    dueBefore: query.due_before,
    dueAfter: query.due_after,
    overdue: query.overdue,
    listId: query.list_id === undefined ? undefined : query.list_id === 'inbox' ? null : query.list_id.toLowerCase(),
    parentId: query.parent_id === undefined ? undefined : query.parent_id === 'none' ? null : query.parent_id.toLowerCase(),
    recurring: query.recurring,
  };
  const parameters = [
    ...asParameters('status', statuses),
    ...asParameters('completed', query.completed),
    ...asParameters('priority', priorities),
    ...asParameters('tag', tags),
    ...asParameters('q', words.length > 0 ? words.join(' ') : undefined),
    ...asParameters('due_after', query.due_after),
    ...asParameters('due_before', query.due_before),
    ...asParameters('overdue', query.overdue),
    ...asParameters('list_id', filters.listId === null ? 'inbox' : filters.listId),
    ...asParameters('parent_id', filters.parentId === null ? 'none' : filters.parentId),
    ...asParameters('recurring', query.recurring),
  ];
  return { filters, parameters };
}

/**
 * Checks the list and parent filters against the caller's own lists and tasks (422 when they
 * do not exist or are someone else's). Filters that fix one group of siblings (a list's top level,
 * or a task's children) are stated as that group's `sibling_group` alone, which implies the list
 * and the parent (a subtask lives in its parent's list): stated as three conditions, the planner
 * multiplies their selectivities as if they were independent, expects a handful of rows, and reads
 * a 10,000-task list through the list index and a sort instead of the manual-order index in order.
 */
async function withOwnGroups(db: CommonQueryMethods, ownerUserId: string, filters: TaskFilters): Promise<TaskFilters> {
  if (filters.listId && (await selectListById(db, ownerUserId, filters.listId)) === null) throw unknownList('/query/list_id');
  if (filters.parentId === undefined) return filters;
  const { listId: _listId, parentId: _parentId, ...others } = filters;
  if (filters.parentId === null) {
    return filters.listId === undefined ? filters : { ...others, siblingGroup: siblingGroupKey({ listId: filters.listId, parentId: null }) };
  }
  const parent = await selectTaskPlacement(db, ownerUserId, filters.parentId);
  if (!parent) throw unknownParent('/query/parent_id');
  // A list_id other than the parent's leaves nothing to list: both stay, so the answer says so.
  if (filters.listId !== undefined && filters.listId !== parent.list_id) return { ...filters, siblingGroup: parent.id };
  return { ...others, siblingGroup: parent.id };
}

const urlQuery = (parameters: readonly UrlParameter[]) =>
  parameters.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&');

const listTasks: AuthenticatedHandler<'listTasks'> = async ({ ownerUserId, query, requestPath }, { db }) => {
  // The validator has applied the contract's defaults; these only satisfy the optional types.
  const { limit = 50, offset, cursor, sort = defaultSort } = query;
  if (cursor !== undefined && offset !== undefined) {
    throw new ProblemError('cursor-with-offset', 'Send either cursor or offset, not both.', {
      errors: [{ path: '/query/offset', keyword: 'conflict', message: 'Send either offset or cursor, not both.' }],
    });
  }
  const { filters: asked, parameters } = listFilters(query);
  if (sort !== defaultSort) parameters.push(['sort', sort]);
  const order = { field: sort.replace(/^-/, '') as SortField, descending: sort.startsWith('-') };
  const filters = await withOwnGroups(db, ownerUserId, asked);
  if (sortsWithinSiblings(order.field) && filters.siblingGroup === undefined) {
    throw new ProblemError('position-sort-needs-siblings', 'sort=position orders one group of siblings: send parent_id (a task id, or none together with list_id).', {
      errors: [
        asked.parentId === undefined
          ? { path: '/query/parent_id', keyword: 'required', message: 'With sort=position, send parent_id (a task id, or none).' }
          : { path: '/query/list_id', keyword: 'required', message: 'With sort=position and parent_id=none, send list_id (a list id, or inbox).' },
      ],
    });
  }
  const binding = cursorBinding(ownerUserId, urlQuery(parameters));
  const after = cursor === undefined ? undefined : decodeCursor(cursor, binding, order.field);

  const page = await selectTasksPage(db, ownerUserId, { filters, order, limit, after, offset });

  const link = (position: UrlParameter, rel: string) =>
    `<${requestPath}?${urlQuery([...parameters, ['limit', limit], position])}>; rel="${rel}"`;
  const last = page.tasks.at(-1);
  // Offset paging for the clients that ask for it; cursors for everyone else.
  const links =
    offset === undefined
      ? [page.hasMore && last && link(['cursor', encodeCursor(binding, positionOf(last, order.field))], 'next')]
      : [
          page.hasMore && link(['offset', offset + limit], 'next'),
          offset > 0 && link(['offset', Math.max(0, offset - limit)], 'prev'),
        ];
  const present = links.filter((entry) => typeof entry === 'string');
  const headers: Record<string, string> = {};
  if (present.length > 0) headers.Link = present.join(', ');
  return { status: 200, body: [...page.tasks], headers };
};

// Every write first advances the owner's change clock (its value stamps the rows written: their
// version, their ETag, their place in the change feed), in a transaction or, for the common writes
// that need nothing else, in one statement (database/task-writes.ts), which falls back to the
// transaction whenever it cannot stand in for it.

/**
 * A new top-level task (in the inbox or a list) in two round trips: where it goes (the first
 * sibling's position, whether the list is the caller's, the clock), then the write, which checks
 * that the clock has not moved meanwhile. Undefined when it has: the transaction does it then.
 */
async function insertTopLevelTask(db: CommonQueryMethods, ownerUserId: string, listId: string | null, task: Omit<NewTask, 'placement'>) {
  const group = { listId, parentId: null };
  const point = await selectTaskInsertionPoint(db, ownerUserId, group);
  // Not the caller's list when read: 422, as the transaction would have answered at that moment.
  if (!point.group_found) throw unknownList('/body/list_id');
  const placement = { ...group, ancestorIds: [], position: positionIn({ previous: null, next: point.first_position }) };
  return oneStatementResult(await insertTaskWithClock(db, ownerUserId, { ...task, placement }, point.last_seq));
}

const createTask: AuthenticatedHandler<'createTask'> = async ({ ownerUserId, body, headers, requestPath }, { db }) => {
  const status = initialStatus(statusChange(body));
  const request = { method: 'POST', path: requestPath, body };
  const task = {
    title: body.title,
    description: body.description ?? null,
    status,
    priority: body.priority ?? 'medium',
    tags: normaliseTags(body.tags ?? []),
    dueAt: body.due_at ?? null,
    recurrence: body.recurrence ? normaliseRecurrence(body.recurrence) : null,
  };
  const reminders = reminderDefinitions(body.reminders);
  if (task.recurrence) checkNewSeries(task.recurrence, task.dueAt);
  // At the top level, without a completion to record or reminders to schedule, no transaction is needed.
  const plain = status !== 'completed' && !reminders?.length && (body.parent_id === undefined || body.parent_id === null);
  if (plain && headers['idempotency-key'] === undefined) {
    const row = await insertTopLevelTask(db, ownerUserId, body.list_id?.toLowerCase() ?? null, task);
    if (row) return taskResult(201, row, { Location: `${requestPath}/${row.id}` });
  }
  return idempotently(db, ownerUserId, headers['idempotency-key'], request, async (tx) => {
    const changeSeq = await advanceChangeClock(tx, ownerUserId);
    const placement = await placementOfNewTask(tx, ownerUserId, { listId: body.list_id, parentId: body.parent_id }, changeSeq);
    const inserted = await insertTask(tx, ownerUserId, { ...task, placement }, changeSeq);
    // Created completed: that is a completion too (recorded; a recurring task moves on).
    const settled = await settleCompletion(tx, ownerUserId, false, inserted, changeSeq);
    const row = await scheduleTaskReminders(tx, ownerUserId, settled, reminders);
    const result = taskResult(201, row, { Location: `${requestPath}/${row.id}` });
    await recordTaskEvents(tx, ownerUserId, 'task.created', [result.body]);
    return result;
  });
};

// If-None-Match is answered by Express, not here: res.send (behind res.json) compares it with the
// ETag header of a 200 to a GET or HEAD (weak comparison, lists and `*`, RFC 9110 §13.1.2) and
// sends 304 without a body when it matches. test/operations/conditional-requests.test.ts holds it.
const getTask: AuthenticatedHandler<'getTask'> = async ({ ownerUserId, params }, { db }) => {
  const row = await selectTaskById(db, ownerUserId, params.task_id);
  if (!row) throw taskNotFound();
  return taskResult(200, row);
};

/** The database's guard that a recurring task keeps a due date, as the 422 it stands for. */
function refuseRecurringWithoutDueDate(error: unknown): never {
  if ((error as { constraint?: unknown }).constraint === 'tasks_recurrence_needs_due_at') throw recurrenceNeedsDueDate('/body/due_at');
  throw error;
}

/**
 * Writes `changes` to the caller's task when its If-Match holds, inside `tx`, and settles what a
 * change of completion means (the completion history, a recurring task rolled forward). Replace,
 * update and complete all write through here.
 */
async function writeTaskChanges(
  tx: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  ifMatch: string | undefined,
  changes: TaskChanges,
) {
  return writeExistingTask(tx, ownerUserId, taskId, ifMatch, async (write) => {
    // Only a write that can change completion needs to know whether the task was completed.
    const before = changes.status === undefined ? undefined : await selectTaskById(tx, ownerUserId, taskId);
    const row = await updateTaskById(tx, ownerUserId, taskId, changes, write).catch(refuseRecurringWithoutDueDate);
    if (row === null) return null;
    if (changes.recurrence) checkNewSeries(changes.recurrence, row.due_at);
    return before ? settleCompletion(tx, ownerUserId, before.status === 'completed', row, write.changeSeq) : row;
  });
}

/**
 * Whether a write completed the task (its webhook event is task.completed): it asked to, or it
 * left the task completed. A recurring task asked to complete is rolled forward, not left completed.
 */
function completes(change: StatusChange | undefined, statusAfter: TaskStatus): boolean {
  if (change === undefined) return false;
  if (change.kind === 'complete' || (change.kind === 'set' && change.status === 'completed')) return true;
  return change.kind === 'toggle' && statusAfter === 'completed';
}

/** Replace and update: write `changes` to the caller's task when its If-Match holds, answer with the task. */
async function changeTask(
  db: Parameters<AuthenticatedHandler<'updateTask'>>[1]['db'],
  ownerUserId: string,
  taskId: string,
  ifMatch: string | undefined,
  changes: TaskChanges,
  reminders: ReturnType<typeof reminderDefinitions>,
) {
  // What reminders and the series follow does not change: one statement, unless the task needs more.
  if (reminders === undefined && changes.dueAt === undefined && changes.recurrence === undefined) {
    const row = oneStatementResult(await updateTaskWithClock(db, ownerUserId, taskId, changes, expectedVersions(ifMatch)));
    if (row) return taskResult(200, row);
  }
  return db.transaction(async (tx) => {
    // After the write settled its completion: a recurring task rolled forward moves its reminders.
    const row = await scheduleTaskReminders(tx, ownerUserId, await writeTaskChanges(tx, ownerUserId, taskId, ifMatch, changes), reminders);
    const result = taskResult(200, row);
    await recordTaskEvents(tx, ownerUserId, completes(changes.status, row.status) ? 'task.completed' : 'task.updated', [result.body]);
    return result;
  });
}

/**
 * The changes a replace (PUT) or an update (PATCH) asks for: only the fields sent, except that a
 * replace also clears a description it leaves out. Priority, tags, due date and recurrence change
 * only when sent, on a replace too: a frontend that predates them keeps them.
 */
function taskChangesOf(
  body: HandlerInput<'replaceTask'>['body'] | HandlerInput<'updateTask'>['body'],
  kind: 'replace' | 'update',
): TaskChanges {
  return {
    title: body.title,
    description: kind === 'replace' ? (body.description ?? null) : body.description,
    status: statusChange(body),
    priority: body.priority,
    tags: body.tags && normaliseTags(body.tags),
    dueAt: body.due_at,
    recurrence: body.recurrence === undefined ? undefined : body.recurrence && normaliseRecurrence(body.recurrence),
  };
}

const replaceTask: AuthenticatedHandler<'replaceTask'> = async ({ ownerUserId, params, body, headers }, { db }) =>
  changeTask(db, ownerUserId, params.task_id, headers['if-match'], taskChangesOf(body, 'replace'), reminderDefinitions(body.reminders));

const updateTask: AuthenticatedHandler<'updateTask'> = async ({ ownerUserId, params, body, headers }, { db }) =>
  changeTask(db, ownerUserId, params.task_id, headers['if-match'], taskChangesOf(body, 'update'), reminderDefinitions(body.reminders));

const deleteTask: AuthenticatedHandler<'deleteTask'> = async ({ ownerUserId, params, headers }, { db }) => {
  if (oneStatementResult(await deleteTaskWithClock(db, ownerUserId, params.task_id, expectedVersions(headers['if-match'])))) {
    return { status: 204 };
  }
  await db.transaction(async (tx) => {
    // Its subtasks go with it (each with a tombstone); a 404 or 412 on the task itself rolls that back.
    const { changeSeq, subtaskIds } = await writeExistingTask(tx, ownerUserId, params.task_id, headers['if-match'], async (write) => {
      const subtaskIds = await deleteSubtasksOf(tx, ownerUserId, [params.task_id]);
      return (await deleteTaskById(tx, ownerUserId, params.task_id, write)) ? { changeSeq: write.changeSeq, subtaskIds } : null;
    });
    await insertTaskTombstones(tx, ownerUserId, [params.task_id, ...subtaskIds], changeSeq);
    // A deleted task leaves no trace: its completions (and its subtasks') go with it.
    await deleteTaskCompletionsOfTasks(tx, ownerUserId, [params.task_id, ...subtaskIds]);
    await purgeExpiredTaskTombstones(tx, ownerUserId);
    await recordTaskEvents(tx, ownerUserId, 'task.deleted', [params.task_id, ...subtaskIds].map((id) => ({ id })));
  });
  return { status: 204 };
};

const completeTask: AuthenticatedHandler<'completeTask'> = async ({ ownerUserId, params, body, headers, requestPath }, { db }) => {
  const status: StatusChange = body === undefined ? { kind: 'toggle' } : { kind: body.completed ? 'complete' : 'reopen' };
  const request = { method: 'PATCH', path: requestPath, body };
  if (headers['idempotency-key'] === undefined) {
    const row = oneStatementResult(await updateTaskWithClock(db, ownerUserId, params.task_id, { status }, expectedVersions(headers['if-match'])));
    if (row) return taskResult(200, row);
  }
  return idempotently(db, ownerUserId, headers['idempotency-key'], request, async (tx) => {
    const written = await writeTaskChanges(tx, ownerUserId, params.task_id, headers['if-match'], { status });
    // Completing cancels the task's pending reminders (a recurring task rolled forward moves them);
    // reopening lets those still ahead fire.
    const result = taskResult(200, await scheduleTaskReminders(tx, ownerUserId, written, undefined));
    await recordTaskEvents(tx, ownerUserId, completes(status, result.body.status) ? 'task.completed' : 'task.updated', [result.body]);
    return result;
  });
};

const clearCompletedTasks: AuthenticatedHandler<'clearCompletedTasks'> = async ({ ownerUserId }, { db }) =>
  db.transaction(async (tx) => {
    const changeSeq = await advanceChangeClock(tx, ownerUserId);
    // A completed task's subtasks go with it, completed or not.
    const completedIds = await deleteCompletedTasks(tx, ownerUserId);
    const deletedIds = [...completedIds, ...(await deleteSubtasksOf(tx, ownerUserId, completedIds))];
    await insertTaskTombstones(tx, ownerUserId, deletedIds, changeSeq);
    await deleteTaskCompletionsOfTasks(tx, ownerUserId, deletedIds);
    await purgeExpiredTaskTombstones(tx, ownerUserId);
    await recordTaskEvents(tx, ownerUserId, 'task.deleted', deletedIds.map((id) => ({ id })));
    return { status: 200, body: { deleted: deletedIds.length } };
  });

const getTaskSummary: AuthenticatedHandler<'getTaskSummary'> = async ({ ownerUserId, query }, { db }) => {
  const timeZone = query.tz ?? 'UTC';
  const listId = query.list_id === undefined ? undefined : query.list_id === 'inbox' ? null : query.list_id.toLowerCase();
  if (listId && (await selectListById(db, ownerUserId, listId)) === null) throw unknownList('/query/list_id');
  // PostgreSQL's own zone database decides what a zone name means, so it also decides which exist.
  const counts = await selectTaskSummary(db, ownerUserId, timeZone, listId).catch((error: unknown) => {
    // invalid_parameter_value: "time zone … not recognized"
    if (classifyDatabaseError(error).kind !== 'invalid-parameter-value') throw error;
    throw new ProblemError('unknown-time-zone', `Unknown time zone "${timeZone}"; use an IANA name such as Europe/Paris.`, {
      errors: [{ path: '/query/tz', keyword: 'unknown', message: 'The tz parameter must be an IANA time zone name, such as Europe/Paris.' }],
    });
  });
  const { total, pending, in_progress, completed, overdue, due_today } = counts;
  return { status: 200, body: { time_zone: timeZone, total, by_status: { pending, in_progress, completed }, overdue, due_today } };
};

const ok = { status: 200, body: { status: 'ok' } } as const satisfies HandlerResult<'health'>;

export const handlers: HandlerMap = {
  listTasks,
  createTask,
  getTask,
  replaceTask,
  updateTask,
  deleteTask,
  completeTask,
  listTaskChanges,
  getTaskSummary,
  clearCompletedTasks,
  moveTask,
  listLists,
  createList,
  getList,
  updateList,
  deleteList,
  moveList,
  listTaskCompletions,
  undoTaskCompletion,
  skipTaskOccurrence,
  listTaskOccurrences,
  listCompletions,
  listDueReminders,
  getPushPublicKey,
  createPushSubscription,
  listPushSubscriptions,
  deletePushSubscription,
  listWebhooks,
  createWebhook,
  getWebhook,
  updateWebhook,
  deleteWebhook,
  testWebhook,
  listWebhookDeliveries,
  listUserTasks: (input, context) => listTasks(input, context),
  createUserTask: (input, context) => createTask(input, context),
  getUserTask: (input, context) => getTask(input, context),
  replaceUserTask: (input, context) => replaceTask(input, context),
  updateUserTask: (input, context) => updateTask(input, context),
  deleteUserTask: (input, context) => deleteTask(input, context),
  completeUserTask: (input, context) => completeTask(input, context),
  health: async () => ok,
  ready: async (_input, { db, isShuttingDown }) => {
    if (isShuttingDown()) {
      throw new ProblemError('shutting-down', 'The server is shutting down.', { headers: { 'Retry-After': retryAfterSeconds } });
    }
    await pingDatabase(db);
    return ok;
  },
  ...documentationHandlers,
};
