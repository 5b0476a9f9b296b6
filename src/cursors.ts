// listTasks' cursors: an opaque, URL-safe token holding where the next page starts (the last
// task's sort-key values and id: a key set, so pages neither skip nor repeat rows while other
// rows come and go) and a fingerprint of the query it belongs to (caller, sort, filters). Clients
// only copy cursors from `Link` headers; anything else they send gets a 422, never a 500:
// the token is decoded defensively and every value is checked before it reaches SQL.
//
// Cursors are not encrypted: they carry the last task's sort value (its title, for sort=title)
// and id, which the caller has just been sent anyway. Forging one gains nothing: every query is
// scoped to the caller, so a made-up position only moves within the caller's own tasks.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { checkedPosition, type ListPosition, type SortField } from './database/task-sorts.ts';
import { ProblemError } from './problems.ts';

const version = 1;

/** A fingerprint of everything a cursor is bound to: who asked, and exactly which list. */
export function cursorBinding(ownerUserId: string, canonicalQuery: string): string {
  return createHash('sha256').update(`${ownerUserId}\n${canonicalQuery}`).digest('base64url').slice(0, 16);
}

/** An opaque token, the form of list cursors and of change-feed positions: JSON in base64url. */
export const encodeOpaqueToken = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The value an opaque token holds when it matches `schema`; undefined when it is damaged or forged. */
export function decodeOpaqueToken<T>(token: string, schema: z.ZodType<T>): T | undefined {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(decoded);
  return parsed.success ? parsed.data : undefined;
}

export function encodeCursor(binding: string, position: ListPosition): string {
  return encodeOpaqueToken({ v: version, b: binding, p: position });
}

const envelope = z.strictObject({ v: z.literal(version), b: z.string(), p: z.array(z.unknown()) });

const invalidCursor = () =>
  new ProblemError('cursor-invalid', 'The cursor is not valid (damaged, or not issued by this API); start again without it.', {
    errors: [{ path: '/query/cursor', keyword: 'invalid', message: 'The cursor is damaged or was not issued by this API.' }],
  });

const foreignCursor = () =>
  new ProblemError('cursor-mismatch', 'The cursor was issued for another sort, other filters or another user; start again without it.', {
    errors: [{ path: '/query/cursor', keyword: 'mismatch', message: 'The cursor was issued for another sort, other filters or another user.' }],
  });

/** The position a cursor holds, when it was issued for exactly this binding and sort field. */
export function decodeCursor(cursor: string, binding: string, field: SortField): ListPosition {
  const parsed = decodeOpaqueToken(cursor, envelope);
  if (!parsed) throw invalidCursor();
  if (parsed.b !== binding) throw foreignCursor();
  // What a position holds, and how each value is checked, is the sort field's (database/task-sorts.ts).
  const position = checkedPosition(field, parsed.p);
  if (!position) throw invalidCursor();
  return position;
}
