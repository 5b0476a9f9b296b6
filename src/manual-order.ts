// Manual order (drag and drop) for tasks and lists: a position is a fractional-indexing key
// (the `fractional-indexing` package), so placing an item between two neighbours writes only that
// item: its key sorts between theirs. Keys placed again and again into the same gap grow by about
// one character per six placements; past `longestPosition` the siblings around the gap are
// renumbered with evenly spaced keys between the keys just outside them (each renumbered row is a
// write, so it reaches the change feed). Lists (at most 500) renumber the whole group.
//
// Concurrency: every caller runs inside a transaction that has first advanced the owner's change
// clock (database/task-changes.ts), which holds the owner's clock row locked until commit. Reading
// the neighbours' keys and writing the new one therefore never interleaves with another write of
// the same owner: two devices dropping tasks into the same gap get two different keys, in turn.
// The one exception, a move within the task's own group in two statements (moveWithinItsGroup),
// reads the keys and the clock together and writes only if the clock it then advances is the next
// one: no write of the owner came in between, or it falls back to the transaction.
import { generateKeyBetween, generateNKeysBetween } from 'fractional-indexing';
import type { CommonQueryMethods } from 'slonik';
import type { AuthenticatedHandler } from './contract.ts';
import { selectListById } from './database/lists.ts';
import {
  noTask,
  selectDeepestSubtaskDepth,
  selectNextSiblingPosition,
  selectNeighbourGap,
  selectSiblingsBeside,
  selectTaskPlacement,
  updateSubtasksPlacement,
  updateTaskPlacement,
  updateTaskPositions,
  type PlacementRow,
  type SiblingGroup,
  type TaskPlacement,
  type VersionedTaskRow,
} from './database/tasks.ts';
import { ProblemError, taskNotFound } from './problems.ts';
import { selectTaskMovePoint, updateTaskPositionWithClock, type MoveNeighbour } from './database/task-writes.ts';
import { checkTaskVersion, oneStatementResult, taskResult, writeExistingTask } from './versions.ts';
import { recordTaskEvents } from './webhooks.ts';

/** Past this length a placement renumbers its sibling group (the bound on every key's length). */
export const longestPosition = 24;

/** Where a move puts an item among its siblings: right after one, right before one, or (neither) at the top. */
export type Anchor = { readonly afterId?: string; readonly beforeId?: string };

/** The keys a new position goes between: the previous sibling's and the next one's (null: an end). */
export type Gap = { readonly previous: string | null; readonly next: string | null };

export const positionIn = (gap: Gap): string => generateKeyBetween(gap.previous, gap.next);

export const needsRenumbering = (position: string): boolean => position.length > longestPosition;

export const neighbourNotSibling = (field: 'after_id' | 'before_id') =>
  new ProblemError('neighbour-not-sibling', 'The neighbour to place it next to is not one of its siblings at the destination.', {
    errors: [{ path: `/body/${field}`, keyword: 'invalid', message: 'Place it next to one of its siblings at the destination, not next to itself.' }],
  });

type Positioned = { readonly id: string; readonly position: string };

/**
 * The gap an anchor names among siblings already in order (the moved item left out), and the
 * index the item takes there. An anchor that is not among them gets 422.
 */
export function gapAmong(siblings: readonly Positioned[], anchor: Anchor): Gap & { readonly index: number } {
  if (anchor.afterId !== undefined) {
    const at = siblings.findIndex((sibling) => sibling.id === anchor.afterId);
    if (at < 0) throw neighbourNotSibling('after_id');
    return { previous: siblings[at]!.position, next: siblings[at + 1]?.position ?? null, index: at + 1 };
  }
  if (anchor.beforeId !== undefined) {
    const at = siblings.findIndex((sibling) => sibling.id === anchor.beforeId);
    if (at < 0) throw neighbourNotSibling('before_id');
    return { previous: siblings[at - 1]?.position ?? null, next: siblings[at]!.position, index: at };
  }
  return { previous: null, next: siblings[0]?.position ?? null, index: 0 };
}

/** Renumbers siblings (in order, the moved item at `index`): every id with its new key. */
export function renumbered(siblingIds: readonly string[], movedId: string, index: number): Positioned[] {
  const ids = [...siblingIds.slice(0, index), movedId, ...siblingIds.slice(index)];
  // Evenly spaced short keys, in order.
  const positions = generateNKeysBetween(null, null, ids.length);
  return ids.map((id, place) => ({ id, position: positions[place]! }));
}

// Tasks: where a task goes (a sibling group, checked) and at which key.

/** Another user's list or task is treated exactly like one that does not exist: 422 in a body or query. */
export const unknownList = (path: string) =>
  new ProblemError('list-unknown', 'list_id is not one of your lists.', { errors: [{ path, keyword: 'unknown', message: 'This is not one of your lists.' }] });

export const unknownParent = (path: string) =>
  new ProblemError('parent-unknown', 'parent_id is not one of your tasks.', { errors: [{ path, keyword: 'unknown', message: 'This is not one of your tasks.' }] });

const parentInAnotherList = () =>
  new ProblemError('parent-in-another-list', "A subtask lives in its parent's list; list_id differs from the parent's.", {
    errors: [{ path: '/body/list_id', keyword: 'conflict', message: "A subtask is in its parent's list: leave list_id out, or send the parent's list." }],
  });

const cycle = () =>
  new ProblemError('subtask-cycle', 'A task cannot be placed under itself or one of its own subtasks.', {
    errors: [{ path: '/body/parent_id', keyword: 'invalid', message: 'A task cannot go under itself or one of its own subtasks.' }],
  });

/** Four levels: a top-level task and three levels of subtasks below it. */
const mostAncestors = 3;

const tooDeep = () =>
  new ProblemError('subtasks-too-deep', 'Subtasks nest at most four levels deep.', {
    errors: [{ path: '/body/parent_id', keyword: 'invalid', message: 'Subtasks nest at most four levels deep; this would make a fifth.' }],
  });

/** A destination sibling group and the ancestors a task gets there. */
export type Destination = SiblingGroup & { readonly ancestorIds: readonly string[] };

/**
 * The group a new task (`moving` undefined) or a moved one goes to: under `parentId` when it is
 * a task id (in that parent's list), at the top level of `listId` when that is sent (or when
 * `parentId` is null), and otherwise where it is (a move) or the inbox (a new task).
 */
export async function destinationOf(
  tx: CommonQueryMethods,
  ownerUserId: string,
  request: { readonly listId?: string | null; readonly parentId?: string | null },
  moving?: PlacementRow,
): Promise<Destination> {
  const listId = request.listId?.toLowerCase() ?? request.listId;
  const parentId = request.parentId?.toLowerCase() ?? request.parentId;
  if (typeof parentId === 'string') {
    const parent = await selectTaskPlacement(tx, ownerUserId, parentId);
    if (!parent) throw unknownParent('/body/parent_id');
    if (listId !== undefined && listId !== parent.list_id) throw parentInAnotherList();
    if (moving && (parent.id === moving.id || parent.ancestor_ids.includes(moving.id))) throw cycle();
    const ancestorIds = [...parent.ancestor_ids, parent.id];
    const deepest = moving ? await selectDeepestSubtaskDepth(tx, ownerUserId, moving.id) : 0;
    const subtreeHeight = deepest === 0 ? 0 : deepest - moving!.ancestor_ids.length;
    if (ancestorIds.length + subtreeHeight > mostAncestors) throw tooDeep();
    return { listId: parent.list_id, parentId: parent.id, ancestorIds };
  }
  if (listId !== undefined || parentId === null) {
    const destinationList = listId === undefined ? (moving?.list_id ?? null) : listId;
    if (listId && (await selectListById(tx, ownerUserId, listId)) === null) throw unknownList('/body/list_id');
    return { listId: destinationList, parentId: null, ancestorIds: [] };
  }
  return moving ? { listId: moving.list_id, parentId: moving.parent_id, ancestorIds: moving.ancestor_ids } : { listId: null, parentId: null, ancestorIds: [] };
}

const inGroup = (task: Pick<PlacementRow, 'list_id' | 'parent_id'>, group: SiblingGroup) => task.list_id === group.listId && task.parent_id === group.parentId;

/**
 * The key a task takes in `group` at `anchor` (the task itself, `movingId`, left out of its
 * siblings), renumbering the group when the key would be too long. Runs under the owner's clock
 * lock (the caller's transaction advanced it), so the neighbours cannot change meanwhile.
 */
export async function positionInGroup(
  tx: CommonQueryMethods,
  ownerUserId: string,
  group: SiblingGroup,
  anchor: Anchor,
  movingId: string | null,
  changeSeq: string,
): Promise<string> {
  const neighbourOf = async (id: string, side: 'after' | 'before') => {
    const neighbour = await selectNeighbourGap(tx, ownerUserId, id.toLowerCase(), side, movingId ?? noTask);
    if (!neighbour || neighbour.id === movingId || !inGroup(neighbour, group)) throw neighbourNotSibling(side === 'after' ? 'after_id' : 'before_id');
    return neighbour;
  };
  let gap: Gap;
  if (anchor.afterId !== undefined) {
    const after = await neighbourOf(anchor.afterId, 'after');
    gap = { previous: after.position, next: after.beyond };
  } else if (anchor.beforeId !== undefined) {
    const before = await neighbourOf(anchor.beforeId, 'before');
    gap = { previous: before.beyond, next: before.position };
  } else {
    gap = { previous: null, next: await selectNextSiblingPosition(tx, ownerUserId, group, null, movingId) };
  }
  const position = positionIn(gap);
  if (!needsRenumbering(position) || movingId === null) return position;
  return renumberAround(tx, ownerUserId, group, gap, movingId, changeSeq);
}

/** How many siblings on each side of the gap a renumbering rewrites first (×4 while the keys do not fit). */
const renumberingReach = 16;

/**
 * Renumbers the siblings nearest the gap (at first `renumberingReach` on each side, the moved task
 * between them) with evenly spaced keys between the keys just outside them, and returns the moved
 * task's key. Only a window is rewritten, so a renumbering in a list of 10,000 tasks is a few dozen
 * writes, not 10,000. When the outside keys are themselves too close for the window to fit in 24
 * characters, the window grows, up to the whole group (whose fresh keys always fit).
 */
async function renumberAround(tx: CommonQueryMethods, ownerUserId: string, group: SiblingGroup, gap: Gap, movingId: string, changeSeq: string): Promise<string> {
  for (let reach = renumberingReach; ; reach *= 4) {
    const below = await selectSiblingsBeside(tx, ownerUserId, group, 'before', gap.next, movingId, reach + 1);
    const above = gap.next === null ? [] : await selectSiblingsBeside(tx, ownerUserId, group, 'from', gap.next, movingId, reach + 1);
    const window = [...below.slice(0, reach).reverse(), { id: movingId, position: '' }, ...above.slice(0, reach)];
    const keys = generateNKeysBetween(below[reach]?.position ?? null, above[reach]?.position ?? null, window.length);
    const wholeGroup = below.length <= reach && above.length <= reach;
    if (!wholeGroup && keys.some(needsRenumbering)) continue;
    const positions = window.map((sibling, place) => ({ id: sibling.id, position: keys[place]! }));
    await updateTaskPositions(tx, ownerUserId, positions.filter((entry) => entry.id !== movingId), changeSeq);
    return positions.find((entry) => entry.id === movingId)!.position;
  }
}

/** Where a new task goes: its destination group, at the top. */
export async function placementOfNewTask(
  tx: CommonQueryMethods,
  ownerUserId: string,
  request: { readonly listId?: string | null; readonly parentId?: string | null },
  changeSeq: string,
): Promise<TaskPlacement> {
  const destination = await destinationOf(tx, ownerUserId, request);
  return { ...destination, position: await positionInGroup(tx, ownerUserId, destination, {}, null, changeSeq) };
}

const sameIds = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((id, index) => id === b[index]);

type MoveRequest = { readonly list_id?: string | null; readonly parent_id?: string | null; readonly after_id?: string; readonly before_id?: string };

/**
 * Whether destinationOf would send the task to its own sibling group, read from the task alone:
 * nothing sent; or the group it is in, named by its own parent, or (at the top level) by its own
 * list (which exists: the task is in it) or a null parent.
 */
function staysInItsGroup(request: MoveRequest, moving: PlacementRow): boolean {
  const listId = request.list_id?.toLowerCase() ?? request.list_id;
  const parentId = request.parent_id?.toLowerCase() ?? request.parent_id;
  const sameList = listId === undefined || listId === moving.list_id;
  if (typeof parentId === 'string') return parentId === moving.parent_id && sameList;
  if (listId !== undefined || parentId === null) return moving.parent_id === null && sameList;
  return true;
}

/**
 * A move within the task's own group in two round trips, as createTask does (database/task-writes.ts):
 * one read (the task, the gap at its anchor, the owner's clock), the key and every answer decided
 * from it as the transaction decides them (404, 422 for a neighbour that is not a sibling, 412),
 * then one write that checks that the clock has not moved meanwhile. Undefined when the move needs
 * the transaction: another group (subtasks carried, depth and cycle checks), a key too long
 * (renumbering), or a write of the owner's between the read and the write.
 */
async function moveWithinItsGroup(
  db: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  request: MoveRequest,
  ifMatch: string | undefined,
): Promise<VersionedTaskRow | undefined> {
  const neighbour: MoveNeighbour | null =
    request.after_id !== undefined
      ? { id: request.after_id.toLowerCase(), side: 'after' }
      : request.before_id !== undefined
        ? { id: request.before_id.toLowerCase(), side: 'before' }
        : null;
  const point = await selectTaskMovePoint(db, ownerUserId, taskId, neighbour);
  const moving = point.moving;
  if (moving === null) throw taskNotFound();
  if (!staysInItsGroup(request, moving)) return undefined;
  let gap: Gap = { previous: null, next: point.beyond };
  if (neighbour !== null) {
    // As positionInGroup answers: missing (or another user's), the task itself, or in another group.
    const found = point.neighbour;
    const group = { listId: moving.list_id, parentId: moving.parent_id };
    if (!found || found.id === moving.id || !inGroup(found, group)) throw neighbourNotSibling(neighbour.side === 'after' ? 'after_id' : 'before_id');
    gap = neighbour.side === 'after' ? { previous: found.position, next: point.beyond } : { previous: point.beyond, next: found.position };
  }
  checkTaskVersion(ifMatch, moving.version);
  const position = positionIn(gap);
  if (needsRenumbering(position)) return undefined;
  return oneStatementResult(await updateTaskPositionWithClock(db, ownerUserId, moving.id, position, moving.version, point.last_seq));
}

export const moveTask: AuthenticatedHandler<'moveTask'> = async ({ ownerUserId, params, body, headers }, { db }) => {
  const taskId = params.task_id;
  const row = await moveWithinItsGroup(db, ownerUserId, taskId, body, headers['if-match']);
  if (row) return taskResult(200, row);
  return db.transaction(async (tx) => {
    const { moved, relisted } = await writeExistingTask(tx, ownerUserId, taskId, headers['if-match'], async (write) => {
      const moving = await selectTaskPlacement(tx, ownerUserId, taskId);
      if (!moving) return null;
      const destination = await destinationOf(tx, ownerUserId, { listId: body.list_id, parentId: body.parent_id }, moving);
      const anchor = { afterId: body.after_id, beforeId: body.before_id };
      const position = await positionInGroup(tx, ownerUserId, destination, anchor, moving.id, write.changeSeq);
      const moved = await updateTaskPlacement(tx, ownerUserId, moving.id, { ...destination, position }, write);
      if (!moved) return null;
      // Its subtasks come along: a new list for each, and new ancestors when it changed parent.
      const carried = destination.listId !== moving.list_id || !sameIds(destination.ancestorIds, moving.ancestor_ids);
      const relisted = carried
        ? await updateSubtasksPlacement(tx, ownerUserId, moving.id, destination.listId, destination.ancestorIds, moving.ancestor_ids.length, write.changeSeq)
        : [];
      return { moved, relisted };
    });
    const result = taskResult(200, moved);
    // Webhooks hear of the moved task and of subtasks that changed list with it; siblings renumbered
    // to make room only changed order, which the change feed carries for clients that show it.
    await recordTaskEvents(tx, ownerUserId, 'task.updated', [result.body, ...relisted]);
    return result;
  });
};
