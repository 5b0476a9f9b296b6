// Task writes in one statement: the change clock, the write and its bookkeeping as data-modifying
// CTEs, one round trip instead of a transaction's five to ten (BEGIN, SET LOCAL, the clock, the
// write, the bookkeeping, the webhook events, COMMIT). One statement is one implicit transaction, so it is as atomic as
// the transaction it replaces, and it takes the same locks in the same order: the `clock` CTE is
// the upsert of advanceChangeClock, and every row the statement writes is joined to `gate`, which
// reads `clock`, so no task row is locked before the owner's clock row (see task-changes.ts).
//
// What a single statement cannot do is read after waiting: all of it reads one snapshot, taken when
// it starts, before it may wait for the clock row that another write of the owner holds. So it
// checks that it waited for nobody: the clock it advanced must be exactly one past the clock in its
// snapshot (for a create or a move, one past the clock its caller read beside the positions the
// new key was computed from; a move also writes only at the version that read found). Then no
// write of the owner committed after the snapshot, and what the statement read (the task, its
// version, its reminders, its tombstones) is what a transaction holding the clock would read.
// Otherwise (`retry`) it writes nothing but the clock tick, and the caller runs the write as the
// transaction it always was. The same happens when the write needs more than these statements do
// (`plain` false): a recurring task to roll forward, expired tombstones to purge. Webhook events go in the outbox from the statement itself (the `events` CTE: what
// recordTaskEvents would write). A skipped clock value is harmless:
// versions and feed positions only need to grow.
//
// Time: these statements run outside a transaction, so no SET LOCAL statement_timeout bounds them
// (deadlines.ts); the caller's deadline does (a 503 after 5 s). A statement whose caller has given
// up still runs to its end on the server, and, unlike a transaction, commits without its caller.
// One that waited for a write that committed is stale and writes nothing anyway; one that obtained
// the clock after the deadline for another reason (the write it waited for rolled back, a stalled
// server) is `late` and writes nothing either, so a write whose caller was answered 503 does not
// happen later.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { databaseDeadlineMs } from './deadlines.ts';
import { taskEventDeliveries } from './deliveries.ts';
import { clockAdvance, tombstoneRetention } from './task-changes.ts';
import { taskReminderRescheduling } from './task-reminders.ts';
import {
  inGroup,
  newTaskColumns,
  newTaskValues,
  noTask,
  placementRow,
  taskAssignments,
  taskColumns,
  taskJson,
  versionColumn,
  versionCondition,
  versionedTaskRow,
  type NewTask,
  type SiblingGroup,
  type TaskChanges,
} from './tasks.ts';

// Module constants: zod compiles a parser per schema object, on its first row.
const writtenRow = versionedTaskRow.extend({ outcome: z.literal('written') });
const unwrittenRow = z.object({ outcome: z.enum(['not-found', 'changed', 'retry', 'late']) });
const writeOutcomeRow = z.union([writtenRow, unwrittenRow]);
const deleteOutcomeRow = z.object({ outcome: z.enum(['written', 'not-found', 'changed', 'retry', 'late']) });
const insertionPointRow = z.object({ last_seq: z.string(), first_position: z.string().nullable(), group_found: z.boolean() });
const movingTask = placementRow.extend({ version: z.string() });
const moveNeighbour = z.object({ id: z.string(), list_id: z.string().nullable(), parent_id: z.string().nullable(), position: z.string() });
const movePointRow = z.object({ last_seq: z.string(), moving: movingTask.nullable(), neighbour: moveNeighbour.nullable(), beyond: z.string().nullable() });

/**
 * What a one-statement write came to: `written` (with the row, for inserts and updates), `not-found`
 * (404) or `changed` (412) exactly as the transaction would answer, `retry` (run the transaction),
 * or `late` (the caller's deadline had passed).
 */
export type OneStatementWrite = z.infer<typeof writeOutcomeRow>;
export type OneStatementDelete = z.infer<typeof deleteOutcomeRow>;

/** The `clock` CTE, and whether it got the clock too late for its caller: every statement here starts with these. */
const clock = (ownerUserId: string) => sql.fragment`clock as (${clockAdvance(ownerUserId)}
    returning last_seq
  )`;
const late = sql.fragment`clock_timestamp() > statement_timestamp() + ${databaseDeadlineMs} * interval '1 millisecond'`;

/** Nobody wrote for the owner since this statement's snapshot: its clock is one past the snapshot's. */
const clockInSnapshotFollowed = (ownerUserId: string) =>
  sql.fragment`clock.last_seq = coalesce((select c.last_seq from task_change_clocks c where c.owner_user_id = ${ownerUserId}), 0) + 1`;

/**
 * The `gate` of a write decided from an earlier read of the clock (a create, a move): it goes ahead
 * only if the clock it advanced is the next one after `expectedClock`, and not `late`.
 */
const gateAtClock = (expectedClock: string) => sql.fragment`gate as (
      select clock.last_seq, ${late} as late, clock.last_seq = ${expectedClock}::int8 + 1 as fresh
      from clock
    )`;

/** After a `written` CTE of one task: its webhook event in the outbox, of `type` (a text expression over `written`). */
const writtenTaskEvent = (ownerUserId: string, type: ReturnType<typeof sql.fragment>) => sql.fragment`events as materialized (
      select ${type} as type, 'event:' || gen_random_uuid() as key, ${taskJson('written')} as data from written
    ),
    delivered as (${taskEventDeliveries(ownerUserId, new Date().toISOString())})`;

/** After a `written` CTE of one task: its webhook event in the outbox, and the statement's answer. */
const writtenWithEvent = (ownerUserId: string, type: 'task.created' | 'task.updated') => sql.fragment`${writtenTaskEvent(ownerUserId, sql.fragment`${type}::text`)}
    select case when written.id is not null then 'written' when gate.late then 'late' else 'retry' end as outcome, written.*
    from gate left join written on true`;

/** The outcome of a write on an existing task, from `gate` and whether it wrote. */
const existingTaskOutcome = (wrote: ReturnType<typeof sql.fragment>) => sql.fragment`case
    when ${wrote} then 'written' when gate.late then 'late' when not gate.fresh then 'retry'
    when not gate.found then 'not-found' when not gate.matched then 'changed' else 'retry' end`;

const proceeds = sql.fragment`gate.fresh and not gate.late and gate.matched and gate.plain`;

/**
 * The owner's clock as of now, the first position of a top-level sibling group (the inbox or a
 * list) and whether that list is the owner's: what a new task's place at the top is computed from,
 * and the clock insertTaskWithClock checks that nothing moved since.
 */
export async function selectTaskInsertionPoint(
  db: CommonQueryMethods,
  ownerUserId: string,
  group: SiblingGroup,
): Promise<z.infer<typeof insertionPointRow>> {
  const listFound =
    group.listId === null ? sql.fragment`true` : sql.fragment`exists (select 1 from lists l where l.owner_user_id = ${ownerUserId} and l.id = ${group.listId}::uuid)`;
  return db.one(sql.type(insertionPointRow)`
    select coalesce((select c.last_seq from task_change_clocks c where c.owner_user_id = ${ownerUserId}), 0)::text as last_seq,
           (select position from tasks where owner_user_id = ${ownerUserId} and ${inGroup(group)} order by position, id limit 1) as first_position,
           ${listFound} as group_found`);
}

/**
 * Creates a task whose position was computed from selectTaskInsertionPoint's answer, with its
 * task.created event, when the clock is still `expectedClock`; `retry` otherwise.
 */
export async function insertTaskWithClock(
  db: CommonQueryMethods,
  ownerUserId: string,
  task: NewTask,
  expectedClock: string,
): Promise<OneStatementWrite> {
  return db.one(sql.type(writeOutcomeRow)`
    with ${clock(ownerUserId)},
    ${gateAtClock(expectedClock)},
    written as (
      insert into tasks (${newTaskColumns})
      select ${newTaskValues(ownerUserId, task, sql.fragment`gate.last_seq`)}
      from gate where gate.fresh and not gate.late
      returning ${taskColumns(ownerUserId)}, ${versionColumn}
    ),
    ${writtenWithEvent(ownerUserId, 'task.created')}`);
}

/** The sibling a move drops a task next to: right `after` it or right `before` it. */
export type MoveNeighbour = { readonly id: string; readonly side: 'after' | 'before' };

/**
 * What a move within the task's own sibling group is decided from, in one snapshot: the task
 * (where it sits, its version), the neighbour `neighbour` names (null: a move to the top) and
 * `beyond`, the key of the next sibling past the neighbour on its `side` in the neighbour's group
 * (to the top: the first sibling of the task's group), the moved task left out, as
 * selectNeighbourGap and selectNextSiblingPosition read them; and the owner's clock, which
 * updateTaskPositionWithClock checks that nothing moved since.
 */
export async function selectTaskMovePoint(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  neighbour: MoveNeighbour | null,
): Promise<z.infer<typeof movePointRow>> {
  // The group and the side the gap is looked for in: past the neighbour in its group, or the top of the task's.
  const [group, range, order] =
    neighbour === null
      ? [sql.fragment`(select sibling_group from moving)`, sql.fragment`true`, sql.fragment`s.position, s.id`]
      : neighbour.side === 'after'
        ? [sql.fragment`(select sibling_group from neighbour)`, sql.fragment`s.position > (select position from neighbour)`, sql.fragment`s.position, s.id`]
        : [sql.fragment`(select sibling_group from neighbour)`, sql.fragment`s.position < (select position from neighbour)`, sql.fragment`s.position desc, s.id desc`];
  return db.one(sql.type(movePointRow)`
    with moving as (
      select id, list_id, parent_id, ancestor_ids::text[] as ancestor_ids, position, sibling_group, change_seq::text as version
      from tasks where owner_user_id = ${ownerUserId} and id = ${taskId}
    ),
    neighbour as (
      select id, list_id, parent_id, position, sibling_group
      from tasks where owner_user_id = ${ownerUserId} and id = ${neighbour?.id ?? noTask}
    )
    select coalesce((select c.last_seq from task_change_clocks c where c.owner_user_id = ${ownerUserId}), 0)::text as last_seq,
           (select to_jsonb(moving) - 'sibling_group' from moving) as moving,
           (select to_jsonb(neighbour) - 'sibling_group' from neighbour) as neighbour,
           (select s.position from tasks s
            where s.owner_user_id = ${ownerUserId} and s.sibling_group = ${group} and ${range} and s.id <> ${taskId}::uuid
            order by ${order}
            limit 1) as beyond`);
}

/**
 * Gives the owner's task at `expectedVersion` the key `position` in its own sibling group, with its
 * task.updated event, when the clock is still `expectedClock` (what selectTaskMovePoint read, from
 * which the key was computed); `retry` otherwise. A move within its group changes nothing else:
 * its subtasks, its reminders and its completions stay as they are, as they do in moveTask's transaction.
 */
export async function updateTaskPositionWithClock(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  position: string,
  expectedVersion: string,
  expectedClock: string,
): Promise<OneStatementWrite> {
  return db.one(sql.type(writeOutcomeRow)`
    with ${clock(ownerUserId)},
    ${gateAtClock(expectedClock)},
    written as (
      update tasks set position = ${position}, updated_at = now(), change_seq = gate.last_seq
      from gate
      where tasks.owner_user_id = ${ownerUserId} and tasks.id = ${taskId} and tasks.change_seq = ${expectedVersion}::int8
        and gate.fresh and not gate.late
      returning ${taskColumns(ownerUserId)}, ${versionColumn}
    ),
    ${writtenWithEvent(ownerUserId, 'task.updated')}`);
}

/**
 * Writes `changes` to the owner's task at one of `expectedVersions` (undefined: any), and settles
 * a change of completion as settleCompletion does for a task that does not recur (a completion
 * recorded, or the latest one taken back), with its event (task.completed when it leaves the task
 * completed after a change of completion, as `completes` in handlers.ts decides for such a task;
 * task.updated otherwise), and its reminders rescheduled as scheduleTaskReminders does. `retry`
 * when the task recurs and its completion may change. The caller checks that `changes` moves
 * nothing reminders or the series follow (due date, recurrence): then rescheduling changes only
 * which reminders are pending, not when any fires, so the reminders the written row reads (before
 * the rescheduling, in the statement's snapshot) are those the transaction would answer with.
 */
export async function updateTaskWithClock(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  changes: TaskChanges,
  expectedVersions: readonly string[] | undefined,
): Promise<OneStatementWrite> {
  const completion = changes.status !== undefined;
  return db.one(sql.type(writeOutcomeRow)`
    with ${clock(ownerUserId)},
    gate as (
      select clock.last_seq, ${late} as late, ${clockInSnapshotFollowed(ownerUserId)} as fresh,
             target.id is not null as found, coalesce(target.matched, false) as matched,
             coalesce(target.completed, false) as was_completed,
             coalesce(target.plain, false) as plain
      from clock left join (
        select id, status = 'completed' as completed, ${versionCondition({ expectedVersions })} as matched,
               ${completion ? sql.fragment`recurrence_rule is null` : sql.fragment`true`} as plain
        from tasks where owner_user_id = ${ownerUserId} and id = ${taskId}
      ) target on true
    ),
    written as (
      update tasks set ${taskAssignments(changes, sql.fragment`gate.last_seq`)}
      from gate
      where tasks.owner_user_id = ${ownerUserId} and tasks.id = ${taskId} and ${versionCondition({ expectedVersions })} and ${proceeds}
      returning ${taskColumns(ownerUserId)}, ${versionColumn}
    ),
    ${writtenTaskEvent(
      ownerUserId,
      completion ? sql.fragment`case when written.status = 'completed' then 'task.completed' else 'task.updated' end` : sql.fragment`'task.updated'`,
    )},
    rescheduled as (${taskReminderRescheduling(ownerUserId, taskId, sql.fragment`written`)})${
      completion
        ? sql.fragment`,
    completed as (
      insert into task_completions (owner_user_id, task_id, occurrence_due_at, occurrence_anchor, occurrence_index, change_seq)
      select ${ownerUserId}, written.id, written.due_at, null, written.recurrence_index, gate.last_seq
      from written, gate where written.status = 'completed' and not gate.was_completed
    ),
    reopened as (
      delete from task_completions using written, gate
      where task_completions.owner_user_id = ${ownerUserId} and task_completions.id = (
          select c.id from task_completions c where c.owner_user_id = ${ownerUserId} and c.task_id = ${taskId}
          order by c.change_seq desc limit 1)
        and written.status <> 'completed' and gate.was_completed
    )`
        : sql.fragment``
    }
    select ${existingTaskOutcome(sql.fragment`written.id is not null`)} as outcome, written.*
    from gate left join written on true`);
}

/**
 * Deletes the owner's task at one of `expectedVersions` (undefined: any) with its subtasks, leaving
 * a tombstone, a task.deleted event for each and removing their completions, as deleteTask's
 * transaction does. `retry` when the owner has tombstones old enough to purge.
 */
export async function deleteTaskWithClock(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  expectedVersions: readonly string[] | undefined,
): Promise<OneStatementDelete> {
  return db.one(sql.type(deleteOutcomeRow)`
    with ${clock(ownerUserId)},
    gate as (
      select clock.last_seq, ${late} as late, ${clockInSnapshotFollowed(ownerUserId)} as fresh,
             target.id is not null as found, coalesce(target.matched, false) as matched,
             not exists (
               select 1 from task_tombstones t
               where t.owner_user_id = ${ownerUserId} and t.deleted_at < now() - ${tombstoneRetention}::interval) as plain
      from clock left join (
        select id, ${versionCondition({ expectedVersions })} as matched from tasks
        where owner_user_id = ${ownerUserId} and id = ${taskId}
      ) target on true
    ),
    subtasks as (
      delete from tasks using gate
      where tasks.owner_user_id = ${ownerUserId} and cardinality(ancestor_ids) > 0 and ancestor_ids && ${sql.array([taskId], 'uuid')}
        and ${proceeds}
      returning tasks.id
    ),
    deleted as (
      delete from tasks using gate
      where tasks.owner_user_id = ${ownerUserId} and tasks.id = ${taskId} and ${versionCondition({ expectedVersions })} and ${proceeds}
      returning tasks.id
    ),
    gone as (select id from deleted union all select id from subtasks),
    tombstones as (
      insert into task_tombstones (owner_user_id, task_id, change_seq)
      select ${ownerUserId}, gone.id, gate.last_seq from gone, gate
    ),
    completions as (
      delete from task_completions
      where owner_user_id = ${ownerUserId} and task_id in (select id from gone)
    ),
    events as materialized (
      select 'task.deleted' as type, 'event:' || gen_random_uuid() as key, jsonb_build_object('id', gone.id) as data from gone
    ),
    delivered as (${taskEventDeliveries(ownerUserId, new Date().toISOString())})
    select ${existingTaskOutcome(sql.fragment`exists (select 1 from deleted)`)} as outcome
    from gate`);
}

