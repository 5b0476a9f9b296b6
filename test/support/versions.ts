// Helpers for the tests of ETags, idempotency keys, the change feed and the summary: reading the
// whole feed, and arranging rows the API cannot (due dates before the API exposes them, old
// tombstones, expired keys) straight in the test database.
import { expect } from 'chai';
import type { Response } from 'supertest';
import type { Task } from '../../src/contract.ts';
import type { TestApi, TestUser } from './api.ts';
import { testDatabaseUrl, withSqlClient } from './database.ts';
import { bearer, jsonContentType } from './tasks.ts';

export const etagPattern = /^"[0-9]+"$/;

/** The strong ETag of a task response, asserting its shape. */
export function etagOf(response: Response): string {
  expect(response.headers.etag, 'ETag header').to.be.a('string').and.match(etagPattern);
  return response.headers.etag as string;
}

export type FeedChange =
  | { readonly id: string; readonly deleted: false; readonly task: Task }
  | { readonly id: string; readonly deleted: true; readonly deleted_at: string };
export type FeedPage = { readonly changes: FeedChange[]; readonly next_since: string; readonly has_more: boolean };

/** One page of the feed, asserting a 200 whose body has exactly the page's members. */
export async function feedPage(api: TestApi, user: TestUser, query: Record<string, string | number> = {}): Promise<FeedPage> {
  const response = await api.http.get('/api/tasks/changes').query(query).set(bearer(user));
  expect(response.status, response.text).to.equal(200);
  expect(response.headers['content-type']).to.equal(jsonContentType);
  expect(Object.keys(response.body).sort()).to.deep.equal(['changes', 'has_more', 'next_since']);
  return response.body as FeedPage;
}

/** Follows the feed from `since` until has_more is false; returns every change and the last next_since. */
export async function readFeedToEnd(
  api: TestApi,
  user: TestUser,
  since?: string,
  limit = 100,
): Promise<{ changes: FeedChange[]; next_since: string; pages: number }> {
  const changes: FeedChange[] = [];
  let position = since;
  for (let pages = 1; pages <= 1000; pages += 1) {
    const page = await feedPage(api, user, { limit, ...(position === undefined ? {} : { since: position }) });
    changes.push(...page.changes);
    position = page.next_since;
    if (!page.has_more) return { changes, next_since: position, pages };
  }
  throw new Error('the feed did not end within 1000 pages');
}

/** Runs SQL against the database the shared test API uses. */
export async function inTestDatabase(text: string, values: readonly unknown[]): Promise<Record<string, unknown>[]> {
  return withSqlClient(testDatabaseUrl(), async (client) => (await client.query(text, [...values])).rows);
}

/** A feed position as the server encodes it, for tests of positions it did not issue. */
export const forgedPosition = (token: Record<string, unknown>) => Buffer.from(JSON.stringify(token)).toString('base64url');
