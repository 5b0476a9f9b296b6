// The completion history: one row per completion of a task, recurring or not. Every statement
// takes the owner and puts `owner_user_id = ${ownerUserId}` in its WHERE (or VALUES), like tasks.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { RowFitsContract, Completion } from '../contract.ts';

const completionRow = z.object({
  id: z.string(),
  task_id: z.string(),
  occurrence_due_at: z.string().nullable(),
  completed_at: z.string(),
});
export type CompletionRow = z.infer<typeof completionRow>;
true satisfies RowFitsContract<CompletionRow, Completion>;

const completionColumns = sql.fragment`id, task_id, occurrence_due_at, completed_at`;

// Beside the contract's columns: where it sits in the owner's change order (cursors, "latest"),
// and what undoing it restores.
const storedCompletionRow = completionRow.extend({
  change_seq: z.string(),
  occurrence_anchor: z.string().nullable(),
  occurrence_index: z.number(),
});
export type StoredCompletionRow = z.infer<typeof storedCompletionRow>;
const storedColumns = sql.fragment`${completionColumns}, change_seq::text as change_seq,
  to_char(occurrence_anchor, 'YYYY-MM-DD"T"HH24:MI:SS.MS') as occurrence_anchor, occurrence_index`;

export type NewCompletion = {
  readonly taskId: string;
  readonly occurrenceDueAt: string | null;
  readonly occurrenceAnchor: string | null;
  readonly occurrenceIndex: number;
  readonly changeSeq: string;
};

export async function insertTaskCompletion(db: CommonQueryMethods, ownerUserId: string, completion: NewCompletion): Promise<void> {
  await db.query(sql.type(z.object({}))`
    insert into task_completions (owner_user_id, task_id, occurrence_due_at, occurrence_anchor, occurrence_index, change_seq)
    values (${ownerUserId}, ${completion.taskId}, ${completion.occurrenceDueAt}::timestamptz,
            ${completion.occurrenceAnchor}::timestamp, ${completion.occurrenceIndex}, ${completion.changeSeq})`);
}

/** The task's latest completion (the last committed), or null. */
export async function selectLatestTaskCompletion(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
): Promise<StoredCompletionRow | null> {
  return db.maybeOne(sql.type(storedCompletionRow)`
    select ${storedColumns} from task_completions
    where owner_user_id = ${ownerUserId} and task_id = ${taskId}
    order by change_seq desc
    limit 1`);
}

export async function selectTaskCompletionById(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  completionId: string,
): Promise<CompletionRow | null> {
  return db.maybeOne(sql.type(completionRow)`
    select ${completionColumns} from task_completions
    where owner_user_id = ${ownerUserId} and task_id = ${taskId} and id = ${completionId}`);
}

export async function deleteTaskCompletionById(db: CommonQueryMethods, ownerUserId: string, completionId: string): Promise<void> {
  await db.query(sql.type(z.object({}))`
    delete from task_completions
    where owner_user_id = ${ownerUserId} and id = ${completionId}`);
}

/** Deletes the completions of deleted tasks (they go with their task). */
export async function deleteTaskCompletionsOfTasks(db: CommonQueryMethods, ownerUserId: string, taskIds: readonly string[]): Promise<void> {
  if (taskIds.length === 0) return;
  await db.query(sql.type(z.object({}))`
    delete from task_completions
    where owner_user_id = ${ownerUserId} and task_id = any(${sql.array([...taskIds], 'uuid')})`);
}

export type CompletionPage = { readonly completions: readonly StoredCompletionRow[]; readonly hasMore: boolean };

/** One page of a task's completions, newest (last committed) first, after the change_seq `after`. */
export async function selectTaskCompletionsPage(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  page: { readonly limit: number; readonly after?: string },
): Promise<CompletionPage> {
  const position = page.after === undefined ? sql.fragment`true` : sql.fragment`change_seq < ${page.after}::int8`;
  const rows = await db.any(sql.type(storedCompletionRow)`
    select ${storedColumns} from task_completions
    where owner_user_id = ${ownerUserId} and task_id = ${taskId} and ${position}
    order by task_completions.change_seq desc
    limit ${page.limit + 1}`);
  return { completions: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
}

/** Where a page of the owner's completions starts: the last one's completed_at and change_seq. */
export type CompletionPosition = readonly [completedAt: string, changeSeq: string];

/**
 * One page of all the owner's completions in [since, until), newest first (completed_at, then
 * change_seq: unique per owner), after `after`.
 */
export async function selectCompletionsPage(
  db: CommonQueryMethods,
  ownerUserId: string,
  page: { readonly since?: string; readonly until?: string; readonly limit: number; readonly after?: CompletionPosition },
): Promise<CompletionPage> {
  const conditions = [
    page.since !== undefined && sql.fragment`completed_at >= ${page.since}::timestamptz`,
    page.until !== undefined && sql.fragment`completed_at < ${page.until}::timestamptz`,
    page.after !== undefined &&
      sql.fragment`(completed_at, change_seq) < (${page.after[0]}::timestamptz, ${page.after[1]}::int8)`,
  ].filter((condition) => condition !== false);
  const rows = await db.any(sql.type(storedCompletionRow)`
    select ${storedColumns} from task_completions
    where owner_user_id = ${ownerUserId} ${sql.join([sql.fragment``, ...conditions], sql.fragment` and `)}
    order by task_completions.completed_at desc, task_completions.change_seq desc
    limit ${page.limit + 1}`);
  return { completions: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
}
