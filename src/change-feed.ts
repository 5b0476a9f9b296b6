// GET /api/tasks/changes: the change feed for multi-device sync. A position ("since") is an opaque
// token naming a place in the owner's feed order (change_seq, then id) and when it was issued. See
// database/task-changes.ts for why that order is safe under concurrent writers.
import { z } from 'zod';
import type { AuthenticatedHandler, HandlerResult } from './contract.ts';
import { decodeOpaqueToken, encodeOpaqueToken } from './cursors.ts';
import {
  beginConsistentRead,
  selectChangeClock,
  selectTaskTombstonesAfter,
  type ChangeClock,
} from './database/task-changes.ts';
import { selectTasksChangedAfter, type FeedPosition } from './database/tasks.ts';
import { selectListsChangedAfter, selectListTombstonesAfter } from './database/lists.ts';
import { ProblemError } from './problems.ts';

type Page = HandlerResult<'listTaskChanges'>['body'];
type Change = Page['changes'][number];

// After every id: "everything up to and including this change_seq".
const endOfSeq = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
const tombstoneRetentionMs = 30 * 24 * 60 * 60 * 1000;

const tokenSchema = z.strictObject({
  v: z.literal(1),
  s: z.string().regex(/^(0|[1-9][0-9]{0,17})$/),
  i: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
  t: z.number().int().positive(),
  // Present (1) on positions of a feed that carries lists: a position binds the choice.
  l: z.literal(1).optional(),
});

type Position = FeedPosition & { readonly issuedAt: number };

const encodePosition = (position: FeedPosition, withLists: boolean) =>
  encodeOpaqueToken({ v: 1, s: position.changeSeq, i: position.id, t: Date.now(), ...(withLists ? { l: 1 } : {}) });

const notIssuedHere = () =>
  new ProblemError('feed-position-invalid', 'since is not a position this feed issued; send back next_since unchanged, or omit since.', {
    errors: [{ path: '/query/since', keyword: 'invalid', message: 'The since parameter is not a position this feed issued.' }],
  });

function decodePosition(since: string, withLists: boolean): Position {
  const token = decodeOpaqueToken(since, tokenSchema);
  if (!token || token.t > Date.now() + 60_000 || (token.l === 1) !== withLists) throw notIssuedHere();
  return { changeSeq: token.s, id: token.i, issuedAt: token.t };
}

/** Refuses positions from the future (422) and those the 30 days of tombstones no longer cover (410). */
function checkPosition(position: Position, clock: ChangeClock): void {
  const seq = BigInt(position.changeSeq);
  if (seq > BigInt(clock.last_seq)) throw notIssuedHere();
  const purgedThrough = BigInt(clock.purged_through_seq);
  const missedPurgedDeletion = seq < purgedThrough || (seq === purgedThrough && purgedThrough > 0n && position.id !== endOfSeq);
  if (missedPurgedDeletion || Date.now() - position.issuedAt > tombstoneRetentionMs) {
    throw new ProblemError('feed-position-expired', 'This position is older than the 30 days of deletions the feed keeps; resync from the beginning (omit since).');
  }
}

type Entry = { readonly seq: bigint; readonly id: string; readonly change: Change };

const feedOrder = (a: Entry, b: Entry) => (a.seq !== b.seq ? (a.seq < b.seq ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export const listTaskChanges: AuthenticatedHandler<'listTaskChanges'> = async ({ ownerUserId, query }, { db }) => {
  const { limit = 100, since } = query;
  // Lists only for clients that ask: existing clients see exactly the task feed they always saw.
  const withLists = query.include === 'lists';
  const after = since === undefined ? undefined : decodePosition(since, withLists);
  // One snapshot for the clock and both reads: "up to date through last_seq" is then exactly true.
  return db.transaction(async (tx) => {
    await beginConsistentRead(tx);
    const clock = await selectChangeClock(tx, ownerUserId);
    if (after) checkPosition(after, clock);
    const [tasks, tombstones] = [
      await selectTasksChangedAfter(tx, ownerUserId, after, limit + 1),
      await selectTaskTombstonesAfter(tx, ownerUserId, after, limit + 1),
    ];
    // Lists share the owner's change clock with tasks, so one (change_seq, id) order merges all four.
    const [lists, listTombstones] = withLists
      ? [await selectListsChangedAfter(tx, ownerUserId, after, limit + 1), await selectListTombstonesAfter(tx, ownerUserId, after, limit + 1)]
      : [[], []];
    const entries: Entry[] = [
      ...tasks.map(({ change_seq, ...task }) => ({ seq: BigInt(change_seq), id: task.id, change: { id: task.id, deleted: false as const, task } })),
      ...tombstones.map(({ change_seq, id, deleted_at }) => ({ seq: BigInt(change_seq), id, change: { id, deleted: true as const, deleted_at } })),
      ...lists.map(({ change_seq, ...list }) => ({
        seq: BigInt(change_seq),
        id: list.id,
        change: { kind: 'list' as const, id: list.id, deleted: false as const, list },
      })),
      ...listTombstones.map(({ change_seq, id, deleted_at }) => ({
        seq: BigInt(change_seq),
        id,
        change: { kind: 'list' as const, id, deleted: true as const, deleted_at },
      })),
    ].sort(feedOrder);
    const page = entries.slice(0, limit);
    const hasMore = entries.length > limit;
    const last = page.at(-1);
    const next = hasMore && last ? { changeSeq: String(last.seq), id: last.id } : { changeSeq: clock.last_seq, id: endOfSeq };
    return {
      status: 200,
      body: { changes: page.map((entry) => entry.change), next_since: encodePosition(next, withLists), has_more: hasMore },
    };
  });
};
