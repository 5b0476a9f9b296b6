// The change feed's bookkeeping: each owner's change clock and the tombstones of deleted tasks.
//
// Ordering under concurrency: every write to an owner's tasks first advances that owner's clock row
// (an upsert, so the row stays locked until the write's transaction ends) and stamps what it writes
// with the new value. Two writes of one owner therefore commit in clock order, and a reader that
// sees change N has already seen every change before N; a global sequence would not give that (a
// transaction holding value 41 can commit after one holding 42, and a reader that saw 42 skips 41
// forever). Different owners never wait on each other.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { FeedPosition } from './tasks.ts';

// Row schemas are module constants, never built per call: zod compiles a parser for each schema
// object the first time it parses a row (~0.1 ms), so a schema made per call is compiled per call.
const advancedClockRow = z.object({ last_seq: z.string() });

/** Advances the owner's change clock and returns its new value; the row stays locked until commit. */
export async function advanceChangeClock(db: CommonQueryMethods, ownerUserId: string): Promise<string> {
  return db.oneFirst(sql.type(advancedClockRow)`
    insert into task_change_clocks (owner_user_id, last_seq) values (${ownerUserId}, 1)
    on conflict (owner_user_id) do update set last_seq = task_change_clocks.last_seq + 1
    returning last_seq::text as last_seq`);
}

const changeClockRow = z.object({ last_seq: z.string(), purged_through_seq: z.string() });
export type ChangeClock = z.infer<typeof changeClockRow>;

/** The owner's clock: the last change_seq handed out, and the highest one whose tombstone was purged. */
export async function selectChangeClock(db: CommonQueryMethods, ownerUserId: string): Promise<ChangeClock> {
  const clock = await db.maybeOne(sql.type(changeClockRow)`
    select last_seq::text as last_seq, purged_through_seq::text as purged_through_seq
    from task_change_clocks
    where owner_user_id = ${ownerUserId}`);
  return clock ?? { last_seq: '0', purged_through_seq: '0' };
}

export async function insertTaskTombstones(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskIds: readonly string[],
  changeSeq: string,
): Promise<void> {
  if (taskIds.length === 0) return;
  await db.query(sql.type(z.object({}))`
    insert into task_tombstones (owner_user_id, task_id, change_seq)
    select ${ownerUserId}, task_id, ${changeSeq} from unnest(${sql.array([...taskIds], 'uuid')}) as task_id`);
}

const tombstoneRow = z.object({ id: z.string(), change_seq: z.string(), deleted_at: z.string() });
type TombstoneRow = z.infer<typeof tombstoneRow>;

/** The owner's tombstones after `after` (all of them when undefined), in feed order. */
export async function selectTaskTombstonesAfter(
  db: CommonQueryMethods,
  ownerUserId: string,
  after: FeedPosition | undefined,
  limit: number,
): Promise<readonly TombstoneRow[]> {
  const position = after === undefined ? sql.fragment`true` : sql.fragment`(change_seq, task_id) > (${after.changeSeq}::int8, ${after.id}::uuid)`;
  // ORDER BY names the table: a bare `change_seq` would be the text alias and sort '10' before '9'.
  return db.any(sql.type(tombstoneRow)`
    select task_id as id, change_seq::text as change_seq, deleted_at from task_tombstones
    where owner_user_id = ${ownerUserId} and ${position}
    order by task_tombstones.change_seq, task_id
    limit ${limit}`);
}

/** How long a deletion stays in the feed. */
export const tombstoneRetention = '30 days';

/**
 * Deletes the owner's tombstones older than the retention, remembering the highest change_seq it
 * removed so that feed positions before it get 410. Run under the owner's clock lock (after
 * advanceChangeClock), so it cannot interleave with the owner's other writes.
 */
export async function purgeExpiredTaskTombstones(db: CommonQueryMethods, ownerUserId: string): Promise<void> {
  await db.query(sql.type(z.object({}))`
    with purged as (
      delete from task_tombstones
      where owner_user_id = ${ownerUserId} and deleted_at < now() - ${tombstoneRetention}::interval
      returning change_seq
    )
    update task_change_clocks
    set purged_through_seq = greatest(purged_through_seq, (select coalesce(max(change_seq), 0) from purged))
    where owner_user_id = ${ownerUserId}`);
}

/**
 * Makes the rest of the transaction read one snapshot (REPEATABLE READ, read only). Must be the
 * transaction's first statement.
 */
export async function beginConsistentRead(db: CommonQueryMethods): Promise<void> {
  await db.query(sql.type(z.object({}))`set transaction isolation level repeatable read, read only`);
}
