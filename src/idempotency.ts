// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) for createTask and completeTask.
//
// The key is taken with a transaction-scoped advisory lock (pg_try_advisory_xact_lock): a second
// request with the key while the first is in flight fails to take it at once (409) instead of
// waiting. Holding it, a stored response for the key is either replayed (same request) or refused
// (422, different request); otherwise the write runs and its response is stored in the same
// transaction, so a crash leaves neither the write nor the key, and any instance can replay it.
import { createHash } from 'node:crypto';
import type { CommonQueryMethods } from 'slonik';
import type { DatabasePool } from './database/pool.ts';
import {
  deleteExpiredIdempotencyKeys,
  insertIdempotencyKey,
  selectIdempotencyKey,
  tryLockIdempotencyKey,
} from './database/idempotency-keys.ts';
import { ProblemError } from './problems.ts';

type Result = { readonly status: number; readonly body?: unknown; readonly headers?: Readonly<Record<string, string>> };

/** What makes two requests "the same": method, path and body (JSON with its keys sorted). */
type RequestIdentity = { readonly method: string; readonly path: string; readonly body: unknown };

// Response headers a replay repeats (the draft: the original response, as far as it matters).
const replayedHeaders = ['Location', 'ETag'];

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonicalJson(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const fingerprintOf = (request: RequestIdentity) =>
  createHash('sha256').update(`${request.method}\n${request.path}\n${canonicalJson(request.body)}`).digest('hex');

/** The key's value: a structured-field string's content (`"abc"` → `abc`), or the bare token as sent. */
const keyValue = (header: string) => (header.startsWith('"') ? header.slice(1, -1) : header);

/**
 * Runs `write` in a transaction; with an Idempotency-Key, at most once per owner, key and request
 * within 24 hours, replaying the stored response to every repetition.
 */
export async function idempotently<R extends Result>(
  db: DatabasePool,
  ownerUserId: string,
  keyHeader: string | undefined,
  request: RequestIdentity,
  write: (tx: CommonQueryMethods) => Promise<R>,
): Promise<R> {
  if (keyHeader === undefined) return db.transaction(write);
  const key = keyValue(keyHeader);
  const fingerprint = fingerprintOf(request);
  return db.transaction(async (tx) => {
    if (!(await tryLockIdempotencyKey(tx, ownerUserId, key))) {
      throw new ProblemError('idempotency-key-in-flight', 'A request with this Idempotency-Key is still being processed; retry shortly.');
    }
    await deleteExpiredIdempotencyKeys(tx, ownerUserId);
    const stored = await selectIdempotencyKey(tx, ownerUserId, key);
    if (stored) {
      if (stored.request_fingerprint !== fingerprint) {
        throw new ProblemError('idempotency-key-reused', 'This Idempotency-Key was already used for a different request.', {
          errors: [{ path: '/headers/idempotency-key', keyword: 'reused', message: 'The Idempotency-Key header was already used with a different method, path or body.' }],
        });
      }
      return { status: stored.response_status, body: stored.response_body, headers: stored.response_headers } as unknown as R;
    }
    const result = await write(tx);
    const headers = Object.fromEntries(
      Object.entries(result.headers ?? {}).filter(([name]) => replayedHeaders.includes(name)),
    );
    await insertIdempotencyKey(tx, ownerUserId, key, {
      request_fingerprint: fingerprint,
      response_status: result.status,
      response_headers: headers,
      response_body: result.body ?? null,
    });
    return result;
  });
}
