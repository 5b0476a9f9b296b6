// List queries: one SQL statement each, every one scoped by `owner_user_id = ${ownerUserId}` in its
// WHERE (or VALUES), like the task queries. Writes are stamped with the owner's change clock
// (task-changes.ts), which lists share with tasks: one ordered feed, one ETag scheme.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { List, RowFitsContract } from '../contract.ts';
import { tombstoneRetention } from './task-changes.ts';
import type { FeedPosition, TaskWrite } from './tasks.ts';

// Row schemas of the one-column statements (module constants: zod compiles each once).
const countRow = z.object({ count: z.number() });
const idRow = z.object({ id: z.string() });

export const listColors = ['red', 'orange', 'yellow', 'green', 'teal', 'blue', 'purple', 'pink', 'gray'] as const;

const listRow = z.object({
  id: z.string(),
  name: z.string(),
  color: z.enum(listColors).nullable(),
  position: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type ListRow = z.infer<typeof listRow>;
true satisfies RowFitsContract<ListRow, List>;

const listColumns = sql.fragment`id, name, color, position, created_at, updated_at`;
const versionedListRow = listRow.extend({ version: z.string() });
export type VersionedListRow = z.infer<typeof versionedListRow>;

const versionCondition = (write: TaskWrite) =>
  write.expectedVersions === undefined
    ? sql.fragment`true`
    : sql.fragment`change_seq = any(${sql.array([...write.expectedVersions], 'int8')})`;

export const maxListsPerUser = 500;

export type NewList = { readonly name: string; readonly color: List['color']; readonly position: string };

export async function insertList(db: CommonQueryMethods, ownerUserId: string, list: NewList, changeSeq: string): Promise<VersionedListRow> {
  return db.one(sql.type(versionedListRow)`
    insert into lists (owner_user_id, name, color, position, change_seq)
    values (${ownerUserId}, ${list.name}, ${list.color}, ${list.position}, ${changeSeq})
    returning ${listColumns}, change_seq::text as version`);
}

export async function selectListById(db: CommonQueryMethods, ownerUserId: string, listId: string): Promise<VersionedListRow | null> {
  return db.maybeOne(sql.type(versionedListRow)`
    select ${listColumns}, change_seq::text as version from lists
    where owner_user_id = ${ownerUserId} and id = ${listId}`);
}

/** Every list of the owner's, in manual order (at most maxListsPerUser). */
export async function selectLists(db: CommonQueryMethods, ownerUserId: string): Promise<readonly ListRow[]> {
  return db.any(sql.type(listRow)`
    select ${listColumns} from lists
    where owner_user_id = ${ownerUserId}
    order by position, id`);
}

export async function countLists(db: CommonQueryMethods, ownerUserId: string): Promise<number> {
  return db.oneFirst(sql.type(countRow)`
    select count(*)::int as count from lists
    where owner_user_id = ${ownerUserId}`);
}

export type ListChanges = { readonly name?: string; readonly color?: List['color']; readonly position?: string };

/** Applies the changes given; null when the owner has no such list or it is not at an expected version. */
export async function updateListById(
  db: CommonQueryMethods,
  ownerUserId: string,
  listId: string,
  changes: ListChanges,
  write: TaskWrite,
): Promise<VersionedListRow | null> {
  const assignments = [
    changes.name !== undefined && sql.fragment`name = ${changes.name}`,
    changes.color !== undefined && sql.fragment`color = ${changes.color}`,
    changes.position !== undefined && sql.fragment`position = ${changes.position}`,
    sql.fragment`updated_at = now()`,
    sql.fragment`change_seq = ${write.changeSeq}`,
  ].filter((assignment) => assignment !== false);
  return db.maybeOne(sql.type(versionedListRow)`
    update lists set ${sql.join(assignments, sql.fragment`, `)}
    where owner_user_id = ${ownerUserId} and id = ${listId} and ${versionCondition(write)}
    returning ${listColumns}, change_seq::text as version`);
}

/** Gives the owner's lists these positions (a renumbering), stamping each with the write. */
export async function updateListPositions(
  db: CommonQueryMethods,
  ownerUserId: string,
  positions: readonly { readonly id: string; readonly position: string }[],
  changeSeq: string,
): Promise<void> {
  await db.query(sql.type(z.object({}))`
    update lists set position = renumbered.position, updated_at = now(), change_seq = ${changeSeq}
    from unnest(${sql.array(positions.map((entry) => entry.id), 'uuid')}, ${sql.array(positions.map((entry) => entry.position), 'text')})
      as renumbered (id, position)
    where owner_user_id = ${ownerUserId} and lists.id = renumbered.id`);
}

/** Returns false when the owner has no such list, or it is not at one of the expected versions. */
export async function deleteListById(db: CommonQueryMethods, ownerUserId: string, listId: string, write: TaskWrite): Promise<boolean> {
  const result = await db.query(sql.type(idRow)`
    delete from lists
    where owner_user_id = ${ownerUserId} and id = ${listId} and ${versionCondition(write)}
    returning id`);
  return result.rowCount === 1;
}

export async function insertListTombstone(db: CommonQueryMethods, ownerUserId: string, listId: string, changeSeq: string): Promise<void> {
  await db.query(sql.type(z.object({}))`
    insert into list_tombstones (owner_user_id, list_id, change_seq)
    values (${ownerUserId}, ${listId}, ${changeSeq})`);
}

/**
 * Deletes the owner's list tombstones older than the feed's retention (the task tombstones'),
 * remembering the highest change_seq removed, exactly as purgeExpiredTaskTombstones does: a feed
 * position before it has missed a deletion for good (410). Run under the owner's clock lock.
 */
export async function deleteExpiredListTombstones(db: CommonQueryMethods, ownerUserId: string): Promise<void> {
  await db.query(sql.type(z.object({}))`
    with purged as (
      delete from list_tombstones
      where owner_user_id = ${ownerUserId} and deleted_at < now() - ${tombstoneRetention}::interval
      returning change_seq
    )
    update task_change_clocks
    set purged_through_seq = greatest(purged_through_seq, (select coalesce(max(change_seq), 0) from purged))
    where owner_user_id = ${ownerUserId}`);
}

const changedListRow = listRow.extend({ change_seq: z.string() });

/** The owner's lists written after `after` (all of them when undefined), in feed order. */
export async function selectListsChangedAfter(
  db: CommonQueryMethods,
  ownerUserId: string,
  after: FeedPosition | undefined,
  limit: number,
): Promise<readonly z.infer<typeof changedListRow>[]> {
  const position = after === undefined ? sql.fragment`true` : sql.fragment`(change_seq, id) > (${after.changeSeq}::int8, ${after.id}::uuid)`;
  return db.any(sql.type(changedListRow)`
    select ${listColumns}, change_seq::text as change_seq from lists
    where owner_user_id = ${ownerUserId} and ${position}
    order by lists.change_seq, lists.id
    limit ${limit}`);
}

const listTombstoneRow = z.object({ id: z.string(), change_seq: z.string(), deleted_at: z.string() });

/** The owner's list tombstones after `after`, in feed order. */
export async function selectListTombstonesAfter(
  db: CommonQueryMethods,
  ownerUserId: string,
  after: FeedPosition | undefined,
  limit: number,
): Promise<readonly z.infer<typeof listTombstoneRow>[]> {
  const position = after === undefined ? sql.fragment`true` : sql.fragment`(change_seq, list_id) > (${after.changeSeq}::int8, ${after.id}::uuid)`;
  return db.any(sql.type(listTombstoneRow)`
    select list_id as id, change_seq::text as change_seq, deleted_at from list_tombstones
    where owner_user_id = ${ownerUserId} and ${position}
    order by list_tombstones.change_seq, list_id
    limit ${limit}`);
}
