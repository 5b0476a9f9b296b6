// Idempotency-Key storage (draft-ietf-httpapi-idempotency-key-header). A key is claimed with a
// transaction-scoped advisory lock and its response is inserted in the same transaction as the
// write it describes: a crash leaves neither or both, and any instance can replay it.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

/** How long a stored response is replayed. */
const idempotencyKeyLifetime = '24 hours';

// Row schemas are module constants, never built per call: zod compiles a parser for each schema
// object the first time it parses a row (~0.1 ms), so a schema made per call is compiled per call.
const lockedRow = z.object({ locked: z.boolean() });

/**
 * Takes the key for this transaction, or returns false at once when another transaction holds it
 * (the first request is still in flight). The lock is released when the transaction ends.
 */
export async function tryLockIdempotencyKey(db: CommonQueryMethods, ownerUserId: string, key: string): Promise<boolean> {
  return db.oneFirst(sql.type(lockedRow)`
    select pg_try_advisory_xact_lock(hashtextextended(${`idempotency-key\n${ownerUserId}\n${key}`}, 0)) as locked`);
}

/** Purges the owner's expired keys (opportunistically, on each claim: an expired key is reusable). */
export async function deleteExpiredIdempotencyKeys(db: CommonQueryMethods, ownerUserId: string): Promise<void> {
  await db.query(sql.type(z.object({}))`
    delete from idempotency_keys
    where owner_user_id = ${ownerUserId} and expires_at <= now()`);
}

const storedResponseRow = z.object({
  request_fingerprint: z.string(),
  response_status: z.number(),
  response_headers: z.record(z.string(), z.string()),
  response_body: z.unknown(),
});
type StoredResponse = z.infer<typeof storedResponseRow>;

export async function selectIdempotencyKey(db: CommonQueryMethods, ownerUserId: string, key: string): Promise<StoredResponse | null> {
  return db.maybeOne(sql.type(storedResponseRow)`
    select request_fingerprint, response_status, response_headers, response_body
    from idempotency_keys
    where owner_user_id = ${ownerUserId} and key = ${key} and expires_at > now()`);
}

export async function insertIdempotencyKey(
  db: CommonQueryMethods,
  ownerUserId: string,
  key: string,
  response: StoredResponse,
): Promise<void> {
  await db.query(sql.type(z.object({}))`
    insert into idempotency_keys
      (owner_user_id, key, request_fingerprint, response_status, response_headers, response_body, expires_at)
    values (${ownerUserId}, ${key}, ${response.request_fingerprint}, ${response.response_status},
            ${sql.jsonb(response.response_headers)}, ${sql.json(response.response_body as never)},
            now() + ${idempotencyKeyLifetime}::interval)`);
}
