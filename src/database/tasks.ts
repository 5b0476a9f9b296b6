// Task queries: one SQL statement each, and every one takes the owner and puts
// `owner_user_id = ${ownerUserId}` in its WHERE (or VALUES). There is no query on `tasks` that
// could reach another user's row, so isolation does not depend on handlers remembering to check.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { RowFitsContract, Task, TaskStatus } from '../contract.ts';

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
});

export type TaskRow = z.infer<typeof taskRow>;

// Rows are response bodies as they are: a column the contract lacks (or lacks a property of) is a compile error.
true satisfies RowFitsContract<TaskRow, Task>;

// The one column list every statement returns: JSON property names, with the owner column exposed
// as `user_id` and `completed` derived from `status`.
const taskColumns = sql.fragment`
  id, owner_user_id as user_id, title, description, status = 'completed' as completed, status,
  completed_at, created_at, updated_at`;

export type NewTask = {
  readonly title: string;
  readonly description: string | null;
  readonly status: TaskStatus;
};

export async function insertTask(db: CommonQueryMethods, ownerUserId: string, task: NewTask): Promise<TaskRow> {
  return db.one(sql.type(taskRow)`
    insert into tasks (owner_user_id, title, description, status, completed_at)
    values (${ownerUserId}, ${task.title}, ${task.description}, ${task.status},
            case when ${task.status} = 'completed' then now() end)
    returning ${taskColumns}`);
}

export async function selectTaskById(db: CommonQueryMethods, ownerUserId: string, taskId: string): Promise<TaskRow | null> {
  return db.maybeOne(sql.type(taskRow)`
    select ${taskColumns} from tasks
    where owner_user_id = ${ownerUserId} and id = ${taskId}`);
}

export type TaskPage = { readonly tasks: readonly TaskRow[]; readonly hasMore: boolean };

/** Newest first; reads one row past the page to learn whether another page follows. */
export async function selectTasksNewestFirst(
  db: CommonQueryMethods,
  ownerUserId: string,
  page: { readonly limit: number; readonly offset: number },
): Promise<TaskPage> {
  const rows = await db.any(sql.type(taskRow)`
    select ${taskColumns} from tasks
    where owner_user_id = ${ownerUserId}
    order by created_at desc, id desc
    limit ${page.limit + 1} offset ${page.offset}`);
  return { tasks: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
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

/** Applies the changes given (and only those); returns null when the owner has no such task. */
export async function updateTaskById(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  changes: TaskChanges,
): Promise<TaskRow | null> {
  const status = newStatus(changes.status);
  // Columns come from this fixed list only; values are always bound parameters.
  const assignments = [
    changes.title !== undefined && sql.fragment`title = ${changes.title}`,
    changes.description !== undefined && sql.fragment`description = ${changes.description}`,
    sql.fragment`status = ${status}`,
    // SET expressions see the row as it was, so `completed_at` survives re-completing a task.
    sql.fragment`completed_at = case when ${status} = 'completed' then coalesce(completed_at, now()) end`,
    sql.fragment`updated_at = now()`,
  ].filter((assignment) => assignment !== false);
  return db.maybeOne(sql.type(taskRow)`
    update tasks set ${sql.join(assignments, sql.fragment`, `)}
    where owner_user_id = ${ownerUserId} and id = ${taskId}
    returning ${taskColumns}`);
}

/** Returns false when the owner has no such task. */
export async function deleteTaskById(db: CommonQueryMethods, ownerUserId: string, taskId: string): Promise<boolean> {
  const result = await db.query(sql.type(z.object({ id: z.string() }))`
    delete from tasks
    where owner_user_id = ${ownerUserId} and id = ${taskId}
    returning id`);
  return result.rowCount === 1;
}
