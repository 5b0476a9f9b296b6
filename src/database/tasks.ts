// Task queries: one SQL statement each, and every one takes the owner and puts
// `owner_user_id = ${ownerUserId}` in its WHERE (or VALUES). There is no query on `tasks` that
// could reach another user's row, so isolation does not depend on handlers remembering to check.
import { sql, type CommonQueryMethods, type ValueExpression } from 'slonik';
import { z } from 'zod';
import type { Priority, RowFitsContract, Task, TaskStatus } from '../contract.ts';
import type { Recurrence, WallTime } from '../recurrence.ts';
import { plannedForItsValues } from './prepared-statements.ts';
import { keyOfPosition, keyOfRows, priorityRank, priorityRanking, type ListPosition, type TaskOrder } from './task-sorts.ts';

// Row schemas of the one-column statements (module constants: zod compiles each once).
const positionRow = z.object({ position: z.string() });
const depthRow = z.object({ depth: z.number() });

// Row schemas are module constants, never built per call: zod compiles a parser for each schema
// object the first time it parses a row (~0.1 ms), so a schema made per call is compiled per call.
const taskRow = z.object({
  id: z.string(),
  user_id: z.string(),
  title: z.string(),
  description: z.string().nullable(),
  completed: z.boolean(),
  status: z.enum(['pending', 'in_progress', 'completed']),
  completed_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  priority: z.enum(priorityRanking),
  tags: z.array(z.string()),
  due_at: z.string().nullable(),
  list_id: z.string().nullable(),
  parent_id: z.string().nullable(),
  position: z.string(),
  recurrence: z.object({ rule: z.string(), time_zone: z.string(), basis: z.enum(['due', 'completion']) }).nullable(),
  reminders: z.array(
    z.object({
      id: z.string(),
      remind_at: z.string().optional(),
      before_due: z.string().optional(),
      fire_at: z.string(),
      last_fired_at: z.string().nullable(),
    }),
  ),
});

export type TaskRow = z.infer<typeof taskRow>;

// Rows are response bodies as they are: a column the contract lacks (or lacks a property of) is a compile error.
true satisfies RowFitsContract<TaskRow, Task>;

// A task's reminders as its response shows them, in their order: a subquery, one index probe per
// task. (It was the SQL function task_reminders_json, which PostgreSQL cannot inline because of the
// aggregate: called per row through the function executor, it cost a list of 20 tasks about as much
// again as the list itself. Migration 0010 drops it.)
const taskRemindersJson = (ownerUserId: string) => sql.fragment`(
    select coalesce(json_agg(json_strip_nulls(json_build_object(
             'id', r.id,
             'remind_at', to_char(r.remind_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'before_due', r.before_due))::jsonb
             || jsonb_build_object(
               'fire_at', to_char(r.fire_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'last_fired_at', to_char(r.last_fired_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
             order by r.position), '[]')
    from task_reminders r
    where r.owner_user_id = ${ownerUserId} and r.task_id = tasks.id
  ) as reminders`;

// The one column list every statement returns: JSON property names, with the owner column exposed
// as `user_id` and `completed` derived from `status`.
export const taskColumns = (ownerUserId: string) => sql.fragment`
  id, owner_user_id as user_id, title, description, status = 'completed' as completed, status,
  completed_at, created_at, updated_at, priority, tags, due_at, list_id, parent_id, position,
  case when recurrence_rule is not null then
    json_build_object('rule', recurrence_rule, 'time_zone', recurrence_time_zone, 'basis', recurrence_basis)
  end as recurrence,
  ${taskRemindersJson(ownerUserId)}`;

/**
 * A task as jsonb exactly as its response body says it (what a webhook event carries), from the rows
 * of `relation`, a CTE of `taskColumns` and `versionColumn` in a statement that wrote the task:
 * without the version columns, timestamps in RFC 3339 UTC as rows.ts renders them.
 */
export function taskJson(relation: string) {
  const isoUtc = (column: string) =>
    sql.fragment`to_char(${sql.identifier([relation, column])} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  return sql.fragment`(to_jsonb(${sql.identifier([relation])}) - array['version', 'recurrence_anchor', 'recurrence_index']
    || jsonb_build_object('completed_at', ${isoUtc('completed_at')}, 'created_at', ${isoUtc('created_at')},
                          'updated_at', ${isoUtc('updated_at')}, 'due_at', ${isoUtc('due_at')}))`;
}

// A task's version, its `change_seq`: the owner's change clock at the write that last touched it.
// It is the ETag, the If-Match comparand and the change feed's order, so it is returned beside the
// contract's columns (the handler moves it to the ETag header).
//
// Beside it, where a recurring task's series stands (see src/recurrence.ts), which the write path
// needs and responses leave out: the current occurrence's wall-clock time (null: due_at's own
// local time) and number.
export const versionColumn = sql.fragment`change_seq::text as version,
  to_char(recurrence_anchor, 'YYYY-MM-DD"T"HH24:MI:SS.MS') as recurrence_anchor, recurrence_index`;
export const versionedTaskRow = taskRow.extend({
  version: z.string(),
  recurrence_anchor: z.string().nullable(),
  recurrence_index: z.number(),
});
// A subtask carried along by a move, and whether the move changed its list (see updateSubtasksPlacement).
const relistedTaskRow = taskRow.extend({ relisted: z.boolean() });
export type VersionedTaskRow = z.infer<typeof versionedTaskRow>;

/** How a write on an existing task is stamped and guarded (see database/task-changes.ts). */
export type TaskWrite = {
  /** The owner's change clock for this write (advanceChangeClock). */
  readonly changeSeq: string;
  /** If-Match: undefined (or `*`: the task merely has to exist) writes whatever the version; otherwise only these. */
  readonly expectedVersions?: readonly string[];
};

// The version check sits in the same statement as the write: there is no window between
// "it is still version 41" and the UPDATE/DELETE for another writer to slip into.
export const versionCondition = (write: Pick<TaskWrite, 'expectedVersions'>) =>
  write.expectedVersions === undefined
    ? sql.fragment`true`
    : sql.fragment`change_seq = any(${sql.array([...write.expectedVersions], 'int8')})`;

export type NewTask = {
  readonly title: string;
  readonly description: string | null;
  readonly status: TaskStatus;
  readonly priority: Priority;
  readonly tags: readonly string[];
  readonly dueAt: string | null;
  readonly placement: TaskPlacement;
  readonly recurrence?: Recurrence | null;
};

/** Where a task sits: its list (null: inbox), its parent (null: top level) and ancestors, its key among its siblings. */
export type TaskPlacement = {
  readonly listId: string | null;
  readonly parentId: string | null;
  /** The chain of parents, root first (parentId last). */
  readonly ancestorIds: readonly string[];
  readonly position: string;
};

// The columns a new task is written with, and their values (the VALUES of insertTask, the SELECT
// list of insertTaskWithClock); `changeSeq` is a bound value or the clock's CTE column.
export const newTaskColumns = sql.fragment`owner_user_id, title, description, status, completed_at, priority, tags, due_at,
  recurrence_rule, recurrence_time_zone, recurrence_basis, change_seq, list_id, parent_id, ancestor_ids, position`;

export const newTaskValues = (ownerUserId: string, task: NewTask, changeSeq: ValueExpression) => sql.fragment`
  ${ownerUserId}, ${task.title}, ${task.description}, ${task.status},
  case when ${task.status} = 'completed' then now() end,
  ${task.priority}, ${sql.array(task.tags, 'text')}, ${task.dueAt}::timestamptz,
  ${task.recurrence?.rule ?? null}, ${task.recurrence?.time_zone ?? null}, ${task.recurrence?.basis ?? null}, ${changeSeq},
  ${task.placement.listId}::uuid, ${task.placement.parentId}::uuid, ${sql.array([...task.placement.ancestorIds], 'uuid')},
  ${task.placement.position}`;

export async function insertTask(
  db: CommonQueryMethods,
  ownerUserId: string,
  task: NewTask,
  changeSeq: string,
): Promise<VersionedTaskRow> {
  return db.one(sql.type(versionedTaskRow)`
    insert into tasks (${newTaskColumns})
    values (${newTaskValues(ownerUserId, task, changeSeq)})
    returning ${taskColumns(ownerUserId)}, ${versionColumn}`);
}

export async function selectTaskById(db: CommonQueryMethods, ownerUserId: string, taskId: string): Promise<VersionedTaskRow | null> {
  return db.maybeOne(sql.type(versionedTaskRow)`
    select ${taskColumns(ownerUserId)}, ${versionColumn} from tasks
    where owner_user_id = ${ownerUserId} and id = ${taskId}`);
}

export type TaskPage = { readonly tasks: readonly TaskRow[]; readonly hasMore: boolean };

export type TaskFilters = {
  readonly statuses?: readonly TaskStatus[];
  readonly completed?: boolean;
  readonly priorities?: readonly Priority[];
  /** Every one must be on the task, compared case-insensitively (task_tag_keys lower-cases both sides). */
  readonly tags?: readonly string[];
  /**
   * Every one must be in the title or description, the last also as a prefix (people are still
   * typing it). Letters, combining marks and digits only, lower-cased (see handlers.ts): nothing
   * else reaches the tsquery, so no input can make its syntax invalid.
   */
  readonly searchWords?: readonly string[];
  readonly dueBefore?: string;
  readonly dueAfter?: string;
  readonly overdue?: boolean;
  /** A list id, or null for the inbox; undefined: any. */
  readonly listId?: string | null;
  /** A task id (its subtasks), or null for top-level tasks; undefined: any. */
  readonly parentId?: string | null;
  /** One sibling group's `sibling_group` value (set when list and parent are both fixed): what the manual-order index reads. */
  readonly siblingGroup?: string;
  readonly recurring?: boolean;
};

const asTsquery = (words: readonly string[], lastAsPrefix: boolean) =>
  words.map((word, index) => `'${word}'${lastAsPrefix && index === words.length - 1 ? ':*' : ''}`).join(' & ');

/**
 * The search: every word, the last also as a prefix. A prefix (`rev:*`) costs the GIN index the
 * posting lists of every lexeme it stands for over every owner before the owner's own list is
 * intersected (`q=weekly rev` on 1,000,000 tasks: ~20–50 ms in the index alone). So when there are
 * complete words, only they go through the index (`@@`), and the prefix is checked on the rows
 * they find: `(… @@ …) is true` is the same test but no index condition, and the planner still
 * estimates it as `@@` (so it can still prefer reading the sort's index). Same rows either way.
 * A search that is only a prefix (the first word being typed) keeps the index.
 */
function searchCondition(words: readonly string[]) {
  const complete = [...new Set(words.slice(0, -1))];
  if (complete.length === 0) return sql.fragment`search_vector @@ to_tsquery('simple', ${asTsquery(words, true)})`;
  return sql.fragment`search_vector @@ to_tsquery('simple', ${asTsquery(complete, false)}) and (search_vector @@ to_tsquery('simple', ${asTsquery(words.slice(-1), true)})) is true`;
}

/** `column = value`, or `column is null`: the form an index reads as an equality either way. */
const sameColumn = (column: 'list_id' | 'parent_id', value: string | null) =>
  value === null ? sql.fragment`${sql.identifier([column])} is null` : sql.fragment`${sql.identifier([column])} = ${value}::uuid`;

function filterConditions(filters: TaskFilters) {
  const overdue = sql.fragment`(due_at < now() and status <> 'completed')`;
  return [
    filters.statuses && sql.fragment`status = any(${sql.array(filters.statuses, 'text')})`,
    filters.completed === true && sql.fragment`status = 'completed'`,
    filters.completed === false && sql.fragment`status <> 'completed'`,
    filters.priorities && sql.fragment`priority = any(${sql.array(filters.priorities, 'text')})`,
    filters.tags && sql.fragment`tag_keys @> task_tag_keys(${sql.array(filters.tags, 'text')})`,
    filters.searchWords !== undefined && searchCondition(filters.searchWords),
    filters.dueBefore !== undefined && sql.fragment`due_at < ${filters.dueBefore}::timestamptz`,
    filters.dueAfter !== undefined && sql.fragment`due_at >= ${filters.dueAfter}::timestamptz`,
    filters.overdue === true && overdue,
    filters.overdue === false && sql.fragment`not coalesce(${overdue}, false)`,
    filters.listId !== undefined && sameColumn('list_id', filters.listId),
    filters.parentId !== undefined && sameColumn('parent_id', filters.parentId),
    filters.siblingGroup !== undefined && sql.fragment`sibling_group = ${filters.siblingGroup}::uuid`,
    filters.recurring === true && sql.fragment`recurrence_rule is not null`,
    filters.recurring === false && sql.fragment`recurrence_rule is null`,
  ].filter((condition) => condition !== false && condition !== undefined);
}

/**
 * Filters restated on the sort's own expression. They change nothing in the result (the filters
 * themselves still apply), but they bound the range the sort's index is read over, so a list
 * sorted by due date and filtered by due date (or by priority and priority) starts at the first
 * row the filter keeps instead of reading past every row it drops.
 */
function sortKeyBounds(filters: TaskFilters, order: TaskOrder, key: readonly ReturnType<typeof sql.fragment>[]) {
  const [sorted] = key;
  if (order.field === 'due_at') {
    return [
      filters.dueAfter !== undefined && sql.fragment`${sorted!} >= ${filters.dueAfter}::timestamptz`,
      filters.dueBefore !== undefined && sql.fragment`${sorted!} < ${filters.dueBefore}::timestamptz`,
      filters.overdue === true && sql.fragment`${sorted!} < now()`,
    ].filter((bound) => bound !== false);
  }
  if (order.field === 'priority' && filters.priorities) {
    const ranks = filters.priorities.map(priorityRank);
    return [sql.fragment`${sorted!} = any(${sql.array(ranks, 'int4')})`];
  }
  return [];
}

/**
 * One page of the owner's tasks that pass every filter, in `order`, starting after `after` (key
 * set: a range scan of the sort's index, however deep the page) or after `offset` rows. Reads one
 * row past the page to learn whether another page follows.
 */
export async function selectTasksPage(
  db: CommonQueryMethods,
  ownerUserId: string,
  query: {
    readonly filters: TaskFilters;
    readonly order: TaskOrder;
    readonly limit: number;
    readonly after?: ListPosition;
    readonly offset?: number;
  },
): Promise<TaskPage> {
  const key = keyOfRows(query.order);
  const direction = query.order.descending ? sql.fragment`desc` : sql.fragment`asc`;
  const conditions = [...filterConditions(query.filters), ...sortKeyBounds(query.filters, query.order, key)];
  if (query.after) {
    const comparison = query.order.descending ? sql.fragment`<` : sql.fragment`>`;
    conditions.push(
      sql.fragment`(${sql.join(key, sql.fragment`, `)}) ${comparison} (${sql.join(keyOfPosition(query.order, query.after), sql.fragment`, `)})`,
    );
  }
  // Only a page with conditions is planned per execution: without any, the one sensible plan is
  // the sort's own index from the owner's first entry, so the prepared (generic) plan is that plan
  // and the most common request of all, the first page, is not parsed and planned every time.
  const rows = await db.any(sql.type(taskRow)`
    select ${taskColumns(ownerUserId)} from tasks
    where owner_user_id = ${ownerUserId} ${sql.join([sql.fragment``, ...conditions], sql.fragment` and `)}
    order by ${sql.join(
      key.map((expression) => sql.fragment`${expression} ${direction}`),
      sql.fragment`, `,
    )}
    limit ${query.limit + 1} offset ${query.offset ?? 0}${conditions.length === 0 ? sql.fragment`` : plannedForItsValues}`);
  return { tasks: rows.slice(0, query.limit), hasMore: rows.length > query.limit };
}

/**
 * How a write changes completion. `complete` / `reopen` come from a `completed` flag: reopening
 * a completed task makes it `pending`, while `completed: false` leaves an `in_progress` task as it is.
 */
export type StatusChange =
  | { readonly kind: 'set'; readonly status: TaskStatus }
  | { readonly kind: 'complete' }
  | { readonly kind: 'reopen' }
  | { readonly kind: 'toggle' };

export type TaskChanges = {
  readonly title?: string;
  readonly description?: string | null;
  readonly status?: StatusChange;
  readonly priority?: Priority;
  readonly tags?: readonly string[];
  /** A new due date: a recurring task's series goes on from its local time (the anchor is reset). */
  readonly dueAt?: string | null;
  /** Starts (or stops, with null) recurring: the series restarts at the due date, number 1. */
  readonly recurrence?: Recurrence | null;
};

function newStatus(change: StatusChange | undefined) {
  switch (change?.kind) {
    case undefined:
      return sql.fragment`status`;
    case 'set':
      return sql.fragment`${change.status}::text`;
    case 'complete':
      return sql.fragment`'completed'`;
    case 'reopen':
      return sql.fragment`(case when status = 'completed' then 'pending' else status end)`;
    case 'toggle':
      return sql.fragment`(case when status = 'completed' then 'pending' else 'completed' end)`;
  }
}

/**
 * The SET list of a write of `changes` (and only those), stamped with `changeSeq` (a bound value, or
 * the clock's CTE column in updateTaskWithClock). Columns come from this fixed list only; values
 * are always bound parameters.
 */
export function taskAssignments(changes: TaskChanges, changeSeq: ValueExpression) {
  const status = newStatus(changes.status);
  return sql.join(
    [
      changes.title !== undefined && sql.fragment`title = ${changes.title}`,
      changes.description !== undefined && sql.fragment`description = ${changes.description}`,
      changes.priority !== undefined && sql.fragment`priority = ${changes.priority}`,
      changes.tags !== undefined && sql.fragment`tags = ${sql.array(changes.tags, 'text')}`,
      changes.dueAt !== undefined && sql.fragment`due_at = ${changes.dueAt}::timestamptz`,
      changes.recurrence !== undefined && sql.fragment`recurrence_rule = ${changes.recurrence?.rule ?? null}`,
      changes.recurrence !== undefined && sql.fragment`recurrence_time_zone = ${changes.recurrence?.time_zone ?? null}`,
      changes.recurrence !== undefined && sql.fragment`recurrence_basis = ${changes.recurrence?.basis ?? null}`,
      changes.recurrence !== undefined && sql.fragment`recurrence_index = 1`,
      (changes.recurrence !== undefined || changes.dueAt !== undefined) && sql.fragment`recurrence_anchor = null`,
      sql.fragment`status = ${status}`,
      // SET expressions see the row as it was, so `completed_at` survives re-completing a task.
      sql.fragment`completed_at = case when ${status} = 'completed' then coalesce(completed_at, now()) end`,
      sql.fragment`updated_at = now()`,
      sql.fragment`change_seq = ${changeSeq}`,
    ].filter((assignment) => assignment !== false),
    sql.fragment`, `,
  );
}

/**
 * Applies the changes given (and only those); returns null when the owner has no such task or it
 * is not at one of the expected versions.
 */
export async function updateTaskById(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  changes: TaskChanges,
  write: TaskWrite,
): Promise<VersionedTaskRow | null> {
  return db.maybeOne(sql.type(versionedTaskRow)`
    update tasks set ${taskAssignments(changes, write.changeSeq)}
    where owner_user_id = ${ownerUserId} and id = ${taskId} and ${versionCondition(write)}
    returning ${taskColumns(ownerUserId)}, ${versionColumn}`);
}

/** Where a recurring task goes: an occurrence of its series (see src/recurrence.ts). */
export type TaskOccurrence = { readonly dueAt: string; readonly anchor: WallTime | null; readonly index: number };

/**
 * Moves a recurring task to an occurrence of its series, pending (rolled forward after a
 * completion, skipped to, or back to an undone one). Null when the owner has no such task or it
 * is not at one of the expected versions.
 */
export async function updateTaskOccurrence(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  occurrence: TaskOccurrence,
  write: TaskWrite,
): Promise<VersionedTaskRow | null> {
  return db.maybeOne(sql.type(versionedTaskRow)`
    update tasks
    set due_at = ${occurrence.dueAt}::timestamptz, recurrence_anchor = ${occurrence.anchor}::timestamp,
        recurrence_index = ${occurrence.index}, status = 'pending', completed_at = null,
        updated_at = now(), change_seq = ${write.changeSeq}
    where owner_user_id = ${ownerUserId} and id = ${taskId} and ${versionCondition(write)}
    returning ${taskColumns(ownerUserId)}, ${versionColumn}`);
}

/** Reopens a completed task without moving it (undoing a completion of a task that does not move). */
export async function updateTaskReopened(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  write: TaskWrite,
): Promise<VersionedTaskRow | null> {
  return db.maybeOne(sql.type(versionedTaskRow)`
    update tasks
    set status = case when status = 'completed' then 'pending' else status end,
        completed_at = case when status = 'completed' then null else completed_at end,
        updated_at = now(), change_seq = ${write.changeSeq}
    where owner_user_id = ${ownerUserId} and id = ${taskId} and ${versionCondition(write)}
    returning ${taskColumns(ownerUserId)}, ${versionColumn}`);
}

const idRow = z.object({ id: z.string() });
const positionedRow = z.object({ id: z.string(), position: z.string() });

/** Returns false when the owner has no such task, or it is not at one of the expected versions. */
export async function deleteTaskById(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  write: TaskWrite,
): Promise<boolean> {
  const result = await db.query(sql.type(idRow)`
    delete from tasks
    where owner_user_id = ${ownerUserId} and id = ${taskId} and ${versionCondition(write)}
    returning id`);
  return result.rowCount === 1;
}

/** Deletes the owner's completed tasks; returns their ids (for the tombstones). */
export async function deleteCompletedTasks(db: CommonQueryMethods, ownerUserId: string): Promise<readonly string[]> {
  return db.anyFirst(sql.type(idRow)`
    delete from tasks
    where owner_user_id = ${ownerUserId} and status = 'completed'
    returning id`);
}

const changedTaskRow = taskRow.extend({ change_seq: z.string() });
type ChangedTaskRow = z.infer<typeof changedTaskRow>;

/** A place in the change feed: after this change_seq, and after this id within it. */
export type FeedPosition = { readonly changeSeq: string; readonly id: string };

/** The owner's tasks written after `after` (all of them when undefined), in feed order. */
export async function selectTasksChangedAfter(
  db: CommonQueryMethods,
  ownerUserId: string,
  after: FeedPosition | undefined,
  limit: number,
): Promise<readonly ChangedTaskRow[]> {
  const position = after === undefined ? sql.fragment`true` : sql.fragment`(change_seq, id) > (${after.changeSeq}::int8, ${after.id}::uuid)`;
  // ORDER BY names the table: a bare `change_seq` would be the text alias and sort '10' before '9'.
  return db.any(sql.type(changedTaskRow)`
    select ${taskColumns(ownerUserId)}, change_seq::text as change_seq from tasks
    where owner_user_id = ${ownerUserId} and ${position}
    order by tasks.change_seq, tasks.id
    limit ${limit}`);
}

const taskSummaryRow = z.object({
  // Selected on its own (not only inside the counts) so an unknown zone fails even with no rows.
  today_start: z.string(),
  total: z.number(),
  pending: z.number(),
  in_progress: z.number(),
  completed: z.number(),
  overdue: z.number(),
  due_today: z.number(),
});
type TaskSummaryRow = z.infer<typeof taskSummaryRow>;

/**
 * Counts by status, overdue and due today, where "today" is the current calendar day in `timeZone`
 * (an unknown zone fails with SQLSTATE 22023).
 */
export async function selectTaskSummary(
  db: CommonQueryMethods,
  ownerUserId: string,
  timeZone: string,
  listId?: string | null,
): Promise<TaskSummaryRow> {
  // Midnight today in the zone, as an instant: the local date at the zone, then back to timestamptz.
  // CASE rather than FILTER (WHERE …): one WHERE per statement keeps the owner-scoping check simple.
  const todayStart = sql.fragment`(date_trunc('day', now() at time zone ${timeZone}) at time zone ${timeZone})`;
  const tomorrowStart = sql.fragment`((date_trunc('day', now() at time zone ${timeZone}) + interval '1 day') at time zone ${timeZone})`;
  return db.one(sql.type(taskSummaryRow)`
    select ${todayStart} as today_start,
           count(*)::int as total,
           count(case when status = 'pending' then 1 end)::int as pending,
           count(case when status = 'in_progress' then 1 end)::int as in_progress,
           count(case when status = 'completed' then 1 end)::int as completed,
           count(case when status <> 'completed' and due_at < now() then 1 end)::int as overdue,
           count(case when status <> 'completed' and due_at >= ${todayStart} and due_at < ${tomorrowStart} then 1 end)::int as due_today
    from tasks
    where owner_user_id = ${ownerUserId}${listId === undefined ? sql.fragment`` : sql.fragment` and ${sameColumn('list_id', listId)}`}`);
}

// Subtasks and manual order. A sibling group is (list_id, parent_id); its order is `position`
// (collate "C", fractional-indexing keys: see src/manual-order.ts).

export type SiblingGroup = { readonly listId: string | null; readonly parentId: string | null };

/** The inbox's sibling group (no list, no parent): the zero UUID, as in the sibling_group column (sql/0009). */
const inboxGroup = '00000000-0000-0000-0000-000000000000';

/** The `sibling_group` value of a group: its parent, else its list, else the inbox. */
export const siblingGroupKey = (group: SiblingGroup): string => group.parentId ?? group.listId ?? inboxGroup;

export const inGroup = (group: SiblingGroup) => sql.fragment`sibling_group = ${siblingGroupKey(group)}::uuid`;

/** No task has this id: what a new task (nothing moving yet) or a move to the top (no neighbour) names. */
export const noTask = '00000000-0000-0000-0000-000000000000';

export const placementRow = z.object({
  id: z.string(),
  list_id: z.string().nullable(),
  parent_id: z.string().nullable(),
  ancestor_ids: z.array(z.string()),
  position: z.string(),
});
export type PlacementRow = z.infer<typeof placementRow>;
const neighbourGapRow = placementRow.extend({ beyond: z.string().nullable() });
export type NeighbourGapRow = z.infer<typeof neighbourGapRow>;

/** Where one of the owner's tasks sits (null when the owner has no such task). */
export async function selectTaskPlacement(db: CommonQueryMethods, ownerUserId: string, taskId: string): Promise<PlacementRow | null> {
  return db.maybeOne(sql.type(placementRow)`
    select id, list_id, parent_id, ancestor_ids::text[] as ancestor_ids, position from tasks
    where owner_user_id = ${ownerUserId} and id = ${taskId}`);
}

/** The first sibling's position after `after` (after none: the first of the group), the moved task left out. */
export async function selectNextSiblingPosition(
  db: CommonQueryMethods,
  ownerUserId: string,
  group: SiblingGroup,
  after: string | null,
  movedTaskId: string | null,
): Promise<string | null> {
  return db.maybeOneFirst(sql.type(positionRow)`
    select position from tasks
    where owner_user_id = ${ownerUserId} and ${inGroup(group)}
      and ${after === null ? sql.fragment`true` : sql.fragment`position > ${after}`}
      and id <> ${movedTaskId ?? noTask}::uuid
    order by position, id
    limit 1`);
}

/**
 * Where the neighbour a drop names sits, and `beyond`: the key of the next sibling past it on
 * `side` (`after`: the first above it; `before`: the last below it), the moved task left out. The
 * whole gap in one statement; the caller checks the neighbour is in the destination group.
 */
export async function selectNeighbourGap(
  db: CommonQueryMethods,
  ownerUserId: string,
  neighbourId: string,
  side: 'after' | 'before',
  movedTaskId: string,
): Promise<NeighbourGapRow | null> {
  const [beyondNeighbour, order] =
    side === 'after'
      ? [sql.fragment`sibling.position > neighbour.position`, sql.fragment`sibling.position, sibling.id`]
      : [sql.fragment`sibling.position < neighbour.position`, sql.fragment`sibling.position desc, sibling.id desc`];
  return db.maybeOne(sql.type(neighbourGapRow)`
    select neighbour.id, neighbour.list_id, neighbour.parent_id, neighbour.ancestor_ids::text[] as ancestor_ids, neighbour.position,
      (select sibling.position from tasks sibling
       where sibling.owner_user_id = ${ownerUserId} and sibling.sibling_group = neighbour.sibling_group
         and ${beyondNeighbour} and sibling.id <> ${movedTaskId}::uuid
       order by ${order}
       limit 1) as beyond
    from tasks neighbour
    where neighbour.owner_user_id = ${ownerUserId} and neighbour.id = ${neighbourId}`);
}

/** The last position in a sibling group (null when it is empty). */
export async function selectLastSiblingPosition(db: CommonQueryMethods, ownerUserId: string, group: SiblingGroup): Promise<string | null> {
  return db.maybeOneFirst(sql.type(positionRow)`
    select position from tasks
    where owner_user_id = ${ownerUserId} and ${inGroup(group)}
    order by position desc, id desc
    limit 1`);
}

/**
 * Up to `count` siblings on one side of a key, nearest first, the moved task left out: `before`,
 * those below `key` (null: from the end of the group); `from`, `key` itself and those above it.
 */
export async function selectSiblingsBeside(
  db: CommonQueryMethods,
  ownerUserId: string,
  group: SiblingGroup,
  side: 'before' | 'from',
  key: string | null,
  movedTaskId: string,
  count: number,
): Promise<readonly { readonly id: string; readonly position: string }[]> {
  const range =
    key === null ? sql.fragment`true` : side === 'before' ? sql.fragment`position < ${key}` : sql.fragment`position >= ${key}`;
  return db.any(sql.type(positionedRow)`
    select id, position from tasks
    where owner_user_id = ${ownerUserId} and ${inGroup(group)} and ${range} and id <> ${movedTaskId}::uuid
    order by ${side === 'before' ? sql.fragment`position desc, id desc` : sql.fragment`position, id`}
    limit ${count}`);
}

/** Gives tasks new positions (a renumbering), each one a write stamped with `changeSeq`. */
export async function updateTaskPositions(
  db: CommonQueryMethods,
  ownerUserId: string,
  positions: readonly { readonly id: string; readonly position: string }[],
  changeSeq: string,
): Promise<void> {
  if (positions.length === 0) return;
  await db.query(sql.type(z.object({}))`
    update tasks set position = renumbered.position, updated_at = now(), change_seq = ${changeSeq}
    from unnest(${sql.array(positions.map((entry) => entry.id), 'uuid')}, ${sql.array(positions.map((entry) => entry.position), 'text')})
      as renumbered (id, position)
    where owner_user_id = ${ownerUserId} and tasks.id = renumbered.id`);
}

/** Moves one task (not its subtasks); null when it is gone or not at an expected version. */
export async function updateTaskPlacement(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  placement: TaskPlacement,
  write: TaskWrite,
): Promise<VersionedTaskRow | null> {
  return db.maybeOne(sql.type(versionedTaskRow)`
    update tasks
    set list_id = ${placement.listId}::uuid, parent_id = ${placement.parentId}::uuid,
        ancestor_ids = ${sql.array([...placement.ancestorIds], 'uuid')}, position = ${placement.position},
        updated_at = now(), change_seq = ${write.changeSeq}
    where owner_user_id = ${ownerUserId} and id = ${taskId} and ${versionCondition(write)}
    returning ${taskColumns(ownerUserId)}, ${versionColumn}`);
}

/**
 * Carries a moved task's subtasks along: their list becomes `listId`, and the moved task's old
 * ancestors (the first `oldAncestorCount` entries of theirs) become `newAncestorIds`. Only a
 * subtask whose list changes is a visible change (stamped, in the feed); ancestors are bookkeeping.
 * Returns those visible changes: the subtasks whose list changed, as they are now.
 */
export async function updateSubtasksPlacement(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  listId: string | null,
  newAncestorIds: readonly string[],
  oldAncestorCount: number,
  changeSeq: string,
): Promise<readonly TaskRow[]> {
  const subtasks = await db.any(sql.type(relistedTaskRow)`
    update tasks
    set ancestor_ids = ${sql.array([...newAncestorIds], 'uuid')} || ancestor_ids[${oldAncestorCount + 1}:],
        change_seq = case when list_id is distinct from ${listId}::uuid then ${changeSeq} else change_seq end,
        updated_at = case when list_id is distinct from ${listId}::uuid then now() else updated_at end,
        list_id = ${listId}::uuid
    where owner_user_id = ${ownerUserId} and cardinality(ancestor_ids) > 0 and ancestor_ids @> array[${taskId}::uuid]
    returning ${taskColumns(ownerUserId)}, change_seq = ${changeSeq} as relisted`);
  return subtasks.filter((subtask) => subtask.relisted).map(({ relisted: _relisted, ...task }) => task);
}

/** How many ancestors the deepest task in a task's subtree has (0 when it has no subtasks). */
export async function selectDeepestSubtaskDepth(db: CommonQueryMethods, ownerUserId: string, taskId: string): Promise<number> {
  return db.oneFirst(sql.type(depthRow)`
    select coalesce(max(cardinality(ancestor_ids)), 0)::int as depth from tasks
    where owner_user_id = ${ownerUserId} and cardinality(ancestor_ids) > 0 and ancestor_ids @> array[${taskId}::uuid]`);
}

/** Deletes every subtask (at any depth) of these tasks; returns their ids (for the tombstones). */
export async function deleteSubtasksOf(db: CommonQueryMethods, ownerUserId: string, taskIds: readonly string[]): Promise<readonly string[]> {
  if (taskIds.length === 0) return [];
  return db.anyFirst(sql.type(idRow)`
    delete from tasks
    where owner_user_id = ${ownerUserId} and cardinality(ancestor_ids) > 0 and ancestor_ids && ${sql.array([...taskIds], 'uuid')}
    returning id`);
}

/** Deletes every task in a list; returns their ids. */
export async function deleteTasksInList(db: CommonQueryMethods, ownerUserId: string, listId: string): Promise<readonly string[]> {
  return db.anyFirst(sql.type(idRow)`
    delete from tasks
    where owner_user_id = ${ownerUserId} and list_id = ${listId}
    returning id`);
}

/** A list's top-level tasks, in manual order. */
export async function selectTopLevelTaskIdsInList(db: CommonQueryMethods, ownerUserId: string, listId: string): Promise<readonly string[]> {
  return db.anyFirst(sql.type(idRow)`
    select id from tasks
    where owner_user_id = ${ownerUserId} and list_id = ${listId} and parent_id is null
    order by position, id`);
}

/** Moves every task of list `from` to list `to` (null: the inbox), top-level ones to the positions given; returns them as moved. */
export async function moveTasksOfList(
  db: CommonQueryMethods,
  ownerUserId: string,
  from: string,
  to: string | null,
  topLevelPositions: readonly { readonly id: string; readonly position: string }[],
  changeSeq: string,
): Promise<readonly TaskRow[]> {
  const ids = sql.array(topLevelPositions.map((entry) => entry.id), 'uuid');
  const positions = sql.array(topLevelPositions.map((entry) => entry.position), 'text');
  return db.any(sql.type(taskRow)`
    update tasks
    set list_id = ${to}::uuid, position = coalesce((${positions})[array_position(${ids}, id)], position),
        updated_at = now(), change_seq = ${changeSeq}
    where owner_user_id = ${ownerUserId} and list_id = ${from}
    returning ${taskColumns(ownerUserId)}`);
}
