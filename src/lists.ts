// The Lists operations (handlers keyed by operationId, merged into handlers.ts's map). Every write
// runs in a transaction that first advances the owner's change clock, like the task writes: the
// clock stamps the list (its ETag, its place in the change feed) and serialises the owner's writes,
// which is what keeps names unique-checked and positions distinct under concurrent requests.
import type { CommonQueryMethods } from 'slonik';
import type { AuthenticatedHandler } from './contract.ts';
import {
  countLists,
  deleteExpiredListTombstones,
  deleteListById,
  insertList,
  insertListTombstone,
  maxListsPerUser,
  selectListById,
  selectLists,
  updateListById,
  updateListPositions,
  type ListChanges,
} from './database/lists.ts';
import { classifyDatabaseError } from './database/errors.ts';
import { advanceChangeClock, insertTaskTombstones, purgeExpiredTaskTombstones } from './database/task-changes.ts';
import { deleteTaskCompletionsOfTasks } from './database/task-completions.ts';
import { deleteTasksInList, moveTasksOfList, selectLastSiblingPosition, selectTopLevelTaskIdsInList } from './database/tasks.ts';
import { idempotently } from './idempotency.ts';
import { gapAmong, needsRenumbering, positionIn, renumbered } from './manual-order.ts';
import { listNotFound, ProblemError } from './problems.ts';
import { listResult, writeExistingList } from './versions.ts';
import { recordTaskEvents } from './webhooks.ts';
import { generateNKeysBetween } from 'fractional-indexing';

const uniqueViolation = '23505';

/** The name as stored: trimmed (the contract has checked 1–100 characters once trimmed). */
const listName = (name: string) => name.trim();

const nameTaken = () => new ProblemError('list-name-taken', 'You already have a list with this name (names are compared ignoring case).');

/** A write that breaks lists_owner_name_key is a 409, not a 500. */
async function refusingDuplicateNames<T>(write: Promise<T>): Promise<T> {
  return write.catch((error: unknown) => {
    // The only unique key a list write can break with its input is the owner's name index.
    if (classifyDatabaseError(error).sqlState === uniqueViolation) throw nameTaken();
    throw error;
  });
}

export const listLists: AuthenticatedHandler<'listLists'> = async ({ ownerUserId }, { db }) => ({
  status: 200,
  body: [...(await selectLists(db, ownerUserId))],
});

export const createList: AuthenticatedHandler<'createList'> = async ({ ownerUserId, body, headers, requestPath }, { db }) => {
  const request = { method: 'POST', path: requestPath, body };
  return idempotently(db, ownerUserId, headers['idempotency-key'], request, async (tx) => {
    const changeSeq = await advanceChangeClock(tx, ownerUserId);
    // Counted under the clock lock, so two concurrent creates cannot both take the 500th place.
    if ((await countLists(tx, ownerUserId)) >= maxListsPerUser) {
      throw new ProblemError('too-many-lists', `You have ${maxListsPerUser} lists, the most a user can have; delete one first.`, {
        errors: [{ path: '/body', keyword: 'too_many', message: `You can have at most ${maxListsPerUser} lists; delete one first.` }],
      });
    }
    const lists = await selectLists(tx, ownerUserId);
    const position = positionIn({ previous: null, next: lists[0]?.position ?? null });
    const row = await refusingDuplicateNames(
      insertList(tx, ownerUserId, { name: listName(body.name), color: body.color ?? null, position }, changeSeq),
    );
    return listResult(201, row, { Location: `${requestPath}/${row.id}` });
  });
};

export const getList: AuthenticatedHandler<'getList'> = async ({ ownerUserId, params }, { db }) => {
  const row = await selectListById(db, ownerUserId, params.list_id);
  if (!row) throw listNotFound();
  // If-None-Match: Express answers 304 itself when the request's tag matches this ETag.
  return listResult(200, row);
};

export const updateList: AuthenticatedHandler<'updateList'> = async ({ ownerUserId, params, body, headers }, { db }) => {
  const changes: ListChanges = { name: body.name === undefined ? undefined : listName(body.name), color: body.color };
  const row = await db.transaction((tx) =>
    writeExistingList(tx, ownerUserId, params.list_id, headers['if-match'], (write) =>
      refusingDuplicateNames(updateListById(tx, ownerUserId, params.list_id, changes, write)),
    ),
  );
  return listResult(200, row);
};

export const moveList: AuthenticatedHandler<'moveList'> = async ({ ownerUserId, params, body, headers }, { db }) => {
  const row = await db.transaction((tx) =>
    writeExistingList(tx, ownerUserId, params.list_id, headers['if-match'], async (write) => {
      const siblings = (await selectLists(tx, ownerUserId)).filter((list) => list.id !== params.list_id);
      const gap = gapAmong(siblings, { afterId: body.after_id, beforeId: body.before_id });
      let position = positionIn(gap);
      if (needsRenumbering(position)) {
        const positions = renumbered(siblings.map((list) => list.id), params.list_id, gap.index);
        position = positions[gap.index]!.position;
        await updateListPositions(tx, ownerUserId, positions.filter((entry) => entry.id !== params.list_id), write.changeSeq);
      }
      return updateListById(tx, ownerUserId, params.list_id, { position }, write);
    }),
  );
  return listResult(200, row);
};

/** The list that `move_tasks_to` names: the inbox (null), or another list of the owner's. */
async function destinationList(tx: CommonQueryMethods, ownerUserId: string, moveTasksTo: string, deletedListId: string): Promise<string | null> {
  if (moveTasksTo === 'inbox') return null;
  const listId = moveTasksTo.toLowerCase();
  if (listId === deletedListId || (await selectListById(tx, ownerUserId, listId)) === null) {
    throw new ProblemError('move-tasks-to-invalid', 'move_tasks_to must be the inbox or another of your lists.', {
      errors: [{ path: '/query/move_tasks_to', keyword: 'unknown', message: 'Move the tasks to the inbox or to another of your lists.' }],
    });
  }
  return listId;
}

export const deleteList: AuthenticatedHandler<'deleteList'> = async ({ ownerUserId, params, query, headers }, { db }) => {
  const listId = params.list_id;
  await db.transaction(async (tx) => {
    // The tasks go first (the foreign key from tasks to lists); the list's own delete, guarded
    // by If-Match, comes last, and a 404 or 412 there rolls everything back.
    const changeSeq = await writeExistingList(tx, ownerUserId, listId, headers['if-match'], async (write) => {
      const list = await selectListById(tx, ownerUserId, listId);
      if (!list) return null;
      if (query.move_tasks_to === undefined) {
        // As deleteTask does for each: a tombstone, no completions left behind, a task.deleted event.
        const deletedIds = await deleteTasksInList(tx, ownerUserId, listId);
        await insertTaskTombstones(tx, ownerUserId, deletedIds, write.changeSeq);
        await deleteTaskCompletionsOfTasks(tx, ownerUserId, deletedIds);
        await recordTaskEvents(tx, ownerUserId, 'task.deleted', deletedIds.map((id) => ({ id })));
      } else {
        const destination = await destinationList(tx, ownerUserId, query.move_tasks_to, listId);
        // Below the tasks already at the destination's top level, in their order; subtasks follow their parents.
        const topLevel = await selectTopLevelTaskIdsInList(tx, ownerUserId, listId);
        const last = await selectLastSiblingPosition(tx, ownerUserId, { listId: destination, parentId: null });
        const positions = topLevel.length === 0 ? [] : generateNKeysBetween(last, null, topLevel.length);
        const moved = await moveTasksOfList(tx, ownerUserId, listId, destination, topLevel.map((id, place) => ({ id, position: positions[place]! })), write.changeSeq);
        await recordTaskEvents(tx, ownerUserId, 'task.updated', moved);
      }
      return (await deleteListById(tx, ownerUserId, listId, write)) ? write.changeSeq : null;
    });
    await insertListTombstone(tx, ownerUserId, listId, changeSeq);
    await purgeExpiredTaskTombstones(tx, ownerUserId);
    await deleteExpiredListTombstones(tx, ownerUserId);
  });
  return { status: 204 };
};

