// Task versions over HTTP (RFC 9110 §8.8.3, §13.1): a task's ETag is its `change_seq` as a strong
// entity tag, so it changes on every write, even two in the same millisecond. If-Match guards a
// write in the same SQL statement as the write itself (database/tasks.ts `versionCondition`).
import type { CommonQueryMethods } from 'slonik';
import type { List, Task } from './contract.ts';
import { advanceChangeClock } from './database/task-changes.ts';
import { selectTaskById, type TaskWrite, type VersionedTaskRow } from './database/tasks.ts';
import { selectListById, type VersionedListRow } from './database/lists.ts';
import { databaseTooSlow } from './database/deadlines.ts';
import type { OneStatementDelete, OneStatementWrite } from './database/task-writes.ts';
import { listNotFound, ProblemError, taskNotFound } from './problems.ts';

const etagOf = (version: string) => `"${version}"`;

type EntityTag = { readonly weak: boolean; readonly opaque: string };

/** The entity tags in an If-Match list; `*` is 'any'. Malformed members are skipped. */
function entityTags(header: string): 'any' | EntityTag[] {
  if (header.trim() === '*') return 'any';
  return [...header.matchAll(/(W\/)?"([\x21\x23-\x7E\x80-\xFF]*)"/g)].map((match) => ({
    weak: match[1] !== undefined,
    opaque: match[2]!,
  }));
}

/** The versions an If-Match header allows; undefined for `*` (the task only has to exist). */
export function expectedVersions(ifMatch: string | undefined): readonly string[] | undefined {
  if (ifMatch === undefined) return undefined;
  const tags = entityTags(ifMatch);
  if (tags === 'any') return undefined;
  // Our tags are decimal versions; anything else can never match (but is not an error: RFC 9110
  // has a precondition that fails, not a malformed request).
  return tags.filter((tag) => !tag.weak && /^[0-9]{1,18}$/.test(tag.opaque)).map((tag) => tag.opaque);
}

const preconditionFailed = (what: 'task' | 'list') =>
  what === 'task'
    ? new ProblemError('task-changed', 'The task has changed since the version in If-Match; nothing was written.')
    : new ProblemError('list-changed', 'The list has changed since the version in If-Match; nothing was written.');

/**
 * Runs one write on an existing task inside the caller's transaction: advances the owner's change
 * clock, then lets `write` change the row only if it is at a version If-Match allows. When nothing
 * was written, the task is either gone (404, also for another user's task) or at another version
 * (412); a look after the failed write tells which.
 */
export async function writeExistingTask<T>(
  tx: CommonQueryMethods,
  ownerUserId: string,
  taskId: string,
  ifMatch: string | undefined,
  write: (write: TaskWrite) => Promise<T | null>,
): Promise<T> {
  return writeExisting(tx, ownerUserId, ifMatch, write, async () => (await selectTaskById(tx, ownerUserId, taskId)) !== null, taskNotFound, 'task');
}

/** writeExistingTask for a list (lists share the owner's change clock and the ETag scheme). */
export async function writeExistingList<T>(
  tx: CommonQueryMethods,
  ownerUserId: string,
  listId: string,
  ifMatch: string | undefined,
  write: (write: TaskWrite) => Promise<T | null>,
): Promise<T> {
  return writeExisting(tx, ownerUserId, ifMatch, write, async () => (await selectListById(tx, ownerUserId, listId)) !== null, listNotFound, 'list');
}

async function writeExisting<T>(
  tx: CommonQueryMethods,
  ownerUserId: string,
  ifMatch: string | undefined,
  write: (write: TaskWrite) => Promise<T | null>,
  exists: () => Promise<boolean>,
  notFound: () => ProblemError,
  what: 'task' | 'list',
): Promise<T> {
  const changeSeq = await advanceChangeClock(tx, ownerUserId);
  const versions = expectedVersions(ifMatch);
  const written = await write({ changeSeq, expectedVersions: versions });
  if (written !== null) return written;
  if (versions !== undefined && (await exists())) throw preconditionFailed(what);
  throw notFound();
}

/**
 * 412 unless If-Match allows `version`: for a write decided from a read (database/task-writes.ts,
 * selectTaskMovePoint) whose own statement then writes only at that version.
 */
export function checkTaskVersion(ifMatch: string | undefined, version: string): void {
  const versions = expectedVersions(ifMatch);
  if (versions !== undefined && !versions.includes(version)) throw preconditionFailed('task');
}

/**
 * What a one-statement write (database/task-writes.ts) answers: its row (true for a delete); 404 or
 * 412 as writeExistingTask would; undefined when the write has to run as a transaction after all.
 */
export function oneStatementResult(written: OneStatementWrite): VersionedTaskRow | undefined;
export function oneStatementResult(written: OneStatementDelete): true | undefined;
export function oneStatementResult(written: OneStatementWrite | OneStatementDelete): VersionedTaskRow | true | undefined {
  switch (written.outcome) {
    case 'written': {
      if (!('id' in written)) return true;
      const { outcome: _outcome, ...row } = written;
      return row;
    }
    case 'not-found':
      throw taskNotFound();
    case 'changed':
      throw preconditionFailed('task');
    // The caller's deadline has passed (it has answered 503 already); nothing was written.
    case 'late':
      throw databaseTooSlow();
    case 'retry':
      return undefined;
  }
}

/** A task response: the row without its version (which goes to the ETag header) and series position. */
export function taskResult<S extends 200 | 201>(
  status: S,
  row: VersionedTaskRow,
  headers: Readonly<Record<string, string>> = {},
): { readonly status: S; readonly body: Task; readonly headers: Readonly<Record<string, string>> } {
  const { version, recurrence_anchor: _anchor, recurrence_index: _index, ...task } = row;
  return { status, body: task, headers: { ...headers, ETag: etagOf(version) } };
}

/** A list response: the row without its version, which goes to the ETag header. */
export function listResult<S extends 200 | 201>(
  status: S,
  row: VersionedListRow,
  headers: Readonly<Record<string, string>> = {},
): { readonly status: S; readonly body: List; readonly headers: Readonly<Record<string, string>> } {
  const { version, ...list } = row;
  return { status, body: list, headers: { ...headers, ETag: etagOf(version) } };
}
