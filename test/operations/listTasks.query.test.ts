// listTasks' query: filters, full-text search, sorts, and key-set cursors (listUserTasks shares the
// handler; its Link URLs are checked in user-scoped-routes.test.ts). Each test makes its own users
// and compares whole response bodies with what the tasks it created say they should be.
import { expect } from 'chai';
import type { Response } from 'supertest';
import type { Task } from '../../src/contract.ts';
import { priorityRank, priorityRanking } from '../../src/database/task-sorts.ts';
import { newUser, sharedApi, type TestApi, type TestUser } from '../support/api.ts';
import {
  bearer,
  createTaskAs,
  expectContractViolation,
  expectProblem,
  jsonContentType,
  nextLinkOf,
  pause,
} from '../support/tasks.ts';

const hour = 3_600_000;
const inHours = (hours: number) => new Date(Date.now() + hours * hour).toISOString();

/** Six tasks covering every filter, created oldest first. */
const fixture = () => [
  { title: 'Buy milk', description: 'Semi-skimmed, two litres', priority: 'low', tags: ['Errands'], due_at: inHours(-48), status: 'pending' },
  { title: 'Write quarterly report', description: 'Numbers from finance', priority: 'high', tags: ['Work', 'Q4'], due_at: inHours(72), status: 'in_progress' },
  { title: 'File taxes', description: null, priority: 'high', tags: ['home'], due_at: inHours(-24), status: 'completed' },
  { title: 'Call mum', description: null, priority: 'medium', tags: [], due_at: null, status: 'pending' },
  { title: 'Report a bug in the app', description: 'The reporting screen crashes', priority: 'medium', tags: ['work'], due_at: inHours(24), status: 'in_progress' },
  { title: 'Archive old reports', description: null, priority: 'low', tags: ['Work', 'home'], due_at: null, status: 'completed' },
] as const;

/** Creates the fixture for a new user; returns the tasks newest first (the default order). */
async function userWithTasks(api: TestApi): Promise<{ user: TestUser; tasks: Task[] }> {
  const user = await newUser();
  const tasks: Task[] = [];
  for (const body of fixture()) {
    if (tasks.length > 0) await pause();
    tasks.push(await createTaskAs(api, user, body));
  }
  return { user, tasks: tasks.reverse() };
}

/** GET as `user`, asserting a 200 JSON array; returns the response. */
async function list(api: TestApi, user: TestUser, url: string): Promise<Response> {
  const response = await api.http.get(url).set(bearer(user));
  expect(response.status, `${url}: ${response.text}`).to.equal(200);
  expect(response.headers['content-type']).to.equal(jsonContentType);
  return response;
}

/** Follows `rel="next"` links from `url` to the end; returns every page's body. */
async function walk(api: TestApi, user: TestUser, url: string, between?: (pageIndex: number) => Promise<void>): Promise<Task[][]> {
  const pages: Task[][] = [];
  for (let next: string | undefined = url; next !== undefined; ) {
    expect(pages.length, 'too many pages').to.be.below(50);
    const response = await list(api, user, next);
    pages.push(response.body as Task[]);
    next = nextLinkOf(response);
    if (next !== undefined) expect(next).to.match(/^\/api\/tasks\?[^>]*cursor=[A-Za-z0-9_-]+$/);
    if (next !== undefined && between) await between(pages.length - 1);
  }
  return pages;
}

// The ranking is the sort table's (src/database/task-sorts.ts), so a test and the SQL cannot disagree on it.
const rank = Object.fromEntries(priorityRanking.map((priority) => [priority, priorityRank(priority)])) as Record<Task['priority'], number>;
const byId = (a: Task, b: Task) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const compare = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);

/** The order each sort promises, ascending; descending reverses it, except that no due date stays last. */
const ascending: Record<string, (a: Task, b: Task) => number> = {
  created_at: (a, b) => compare(a.created_at, b.created_at) || byId(a, b),
  updated_at: (a, b) => compare(a.updated_at, b.updated_at) || byId(a, b),
  due_at: (a, b) => compare(a.due_at ?? '~', b.due_at ?? '~') || byId(a, b),
  priority: (a, b) => compare(rank[a.priority], rank[b.priority]) || compare(a.created_at, b.created_at) || byId(a, b),
  title: (a, b) => compare(a.title.toLowerCase(), b.title.toLowerCase()) || byId(a, b),
};

function sorted(tasks: readonly Task[], sort: string): Task[] {
  const field = sort.replace(/^-/, '');
  const order = ascending[field]!;
  if (!sort.startsWith('-')) return [...tasks].sort(order);
  if (field === 'due_at') {
    return [...tasks].sort((a, b) => compare(b.due_at ?? '', a.due_at ?? '') || byId(b, a)).sort((a, b) => Number(a.due_at === null) - Number(b.due_at === null));
  }
  return [...tasks].sort((a, b) => order(b, a));
}

describe('listTasks: filters, search, sorting and cursors', () => {
  describe('filters', () => {
    const now = () => new Date().toISOString();
    const cases: { query: string; keep: (task: Task) => boolean }[] = [
      { query: 'status=pending', keep: (task) => task.status === 'pending' },
      { query: 'status=pending&status=completed', keep: (task) => task.status !== 'in_progress' },
      { query: 'completed=true', keep: (task) => task.completed },
      { query: 'completed=false', keep: (task) => !task.completed },
      { query: 'priority=high', keep: (task) => task.priority === 'high' },
      { query: 'priority=low&priority=medium', keep: (task) => task.priority !== 'high' },
      { query: 'tag=work', keep: (task) => task.tags.some((tag) => tag.toLowerCase() === 'work') },
      { query: 'tag=%20WORK%20&tag=Home', keep: (task) => task.title === 'Archive old reports' },
      { query: 'tag=nothing-has-this', keep: () => false },
      { query: `due_before=${encodeURIComponent(now())}`, keep: (task) => task.due_at !== null && task.due_at < now() },
      { query: `due_after=${encodeURIComponent(now())}`, keep: (task) => task.due_at !== null && task.due_at >= now() },
      { query: `due_after=${inHours(-30)}&due_before=${inHours(30)}`, keep: (task) => task.due_at !== null && task.due_at >= inHours(-30) && task.due_at < inHours(30) },
      { query: 'overdue=true', keep: (task) => task.title === 'Buy milk' },
      { query: 'overdue=false', keep: (task) => task.title !== 'Buy milk' },
      { query: 'status=in_progress&priority=medium&tag=work', keep: (task) => task.title === 'Report a bug in the app' },
      { query: 'completed=true&status=pending', keep: () => false },
    ];
    for (const { query, keep } of cases) {
      it(`returns exactly the caller's tasks that match ?${query}, newest first`, async () => {
        const api = await sharedApi();
        const { user, tasks } = await userWithTasks(api);
        // Another user's identical tasks must never show up.
        await userWithTasks(api);

        const response = await list(api, user, `/api/tasks?${query}`);

        const expected = tasks.filter(keep);
        expect(response.body).to.deep.equal(expected);
        expect(response.headers.link).to.equal(undefined);
      });
    }
  });

  describe('search (q)', () => {
    const cases: { q: string; titles: string[] }[] = [
      { q: 'report', titles: ['Archive old reports', 'Report a bug in the app', 'Write quarterly report'] },
      { q: 'REPO', titles: ['Archive old reports', 'Report a bug in the app', 'Write quarterly report'] },
      { q: 'quarterly rep', titles: ['Write quarterly report'] },
      { q: 'report quarterly', titles: ['Write quarterly report'] },
      { q: 'finance', titles: ['Write quarterly report'] },
      { q: 'semi', titles: ['Buy milk'] },
      { q: 'two-litres', titles: ['Buy milk'] },
      { q: 'mi', titles: ['Buy milk'] },
      { q: 'bu mi', titles: [] },
      { q: 'screen crash', titles: ['Report a bug in the app'] },
      { q: 'xylophone', titles: [] },
      // Several words: the complete ones go through the index, the prefix is checked on what they
      // find (src/database/tasks.ts, searchCondition); the answers must be the same as one query's.
      { q: 'report report', titles: ['Report a bug in the app', 'Write quarterly report'] },
      { q: 'report rep', titles: ['Report a bug in the app', 'Write quarterly report'] },
      { q: 'reports report', titles: ['Archive old reports'] },
      { q: 'quarterly quarterly rep', titles: ['Write quarterly report'] },
      { q: 'the reporting', titles: ['Report a bug in the app'] },
      { q: 'app bu', titles: ['Report a bug in the app'] },
      { q: 'milk semi two', titles: ['Buy milk'] },
      { q: 'milk repo', titles: [] },
    ];
    for (const { q, titles } of cases) {
      it(`finds by title and description, ignoring case, the last word as a prefix: q=${q}`, async () => {
        const api = await sharedApi();
        const { user, tasks } = await userWithTasks(api);
        await userWithTasks(api);

        const response = await list(api, user, `/api/tasks?q=${encodeURIComponent(q)}&sort=title`);

        expect(response.body).to.deep.equal(sorted(tasks.filter((task) => titles.includes(task.title)), 'title'));
      });
    }

    const hostile = [
      "'",
      "'; drop table tasks; --",
      '&',
      '|| !',
      ':*',
      'a:* & (b',
      '\\',
      '"unbalanced',
      '<->',
      '!!!',
      'milk:A',
      'milk & !',
      '\u{1F600} emoji',
      'naïve café',
      '\u0301',
      'x\u0301 \u0301y',
      'İstanbul ß ǅ ½ ٣ Ⅻ',
      '\u200b\ufeff',
      '%00',
      '',
      'x'.repeat(200),
      'a '.repeat(100),
    ];
    for (const q of hostile) {
      it(`answers 200, never 500, for any search text: ${JSON.stringify(q.length > 30 ? `${q.slice(0, 30)}…` : q)}`, async () => {
        const api = await sharedApi();
        const { user, tasks } = await userWithTasks(api);

        const response = await list(api, user, `/api/tasks?q=${encodeURIComponent(q)}`);

        const body = response.body as Task[];
        for (const task of body) expect(tasks).to.deep.include(task);
        if (/^[^\p{L}\p{N}]*$/u.test(q)) expect(body, 'no words: nothing filtered out').to.deep.equal(tasks);
      });
    }

    it('finds words in other scripts and with diacritics', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const cafe = await createTaskAs(api, user, { title: 'Réserver le café', description: 'Ελληνικά κείμενα' });
      await createTaskAs(api, user, { title: 'Something else' });

      for (const q of ['café', 'CAF', 'réserv', 'ελληνικ']) {
        const response = await list(api, user, `/api/tasks?q=${encodeURIComponent(q)}`);
        expect(response.body, q).to.deep.equal([cafe]);
      }
    });
  });

  describe('sorting', () => {
    for (const field of ['created_at', 'updated_at', 'due_at', 'priority', 'title']) {
      for (const sort of [field, `-${field}`]) {
        it(`sorts by ${sort} and pages through it by cursor without skipping or repeating`, async () => {
          const api = await sharedApi();
          const { user, tasks } = await userWithTasks(api);
          // Ties on every sort key but id: same title (case aside), priority and due date.
          const twin = await createTaskAs(api, user, { title: 'buy MILK', priority: 'low', tags: [], due_at: tasks.at(-1)!.due_at });
          const all = [twin, ...tasks];
          const expected = sorted(all, sort);

          const whole = await list(api, user, `/api/tasks?sort=${sort}`);
          expect(whole.body).to.deep.equal(expected);

          const pages = await walk(api, user, `/api/tasks?sort=${sort}&limit=2`);
          expect(pages.map((page) => page.length)).to.deep.equal([2, 2, 2, 1]);
          expect(pages.flat()).to.deep.equal(expected);
        });
      }
    }

    const filteredSorts = [
      { query: `sort=due_at&due_after=${inHours(-30)}&due_before=${inHours(80)}`, keep: (task: Task) => task.due_at !== null && task.due_at >= inHours(-30) && task.due_at < inHours(80) },
      { query: `sort=-due_at&due_after=${inHours(-30)}&due_before=${inHours(80)}`, keep: (task: Task) => task.due_at !== null && task.due_at >= inHours(-30) && task.due_at < inHours(80) },
      { query: 'sort=due_at&overdue=true', keep: (task: Task) => task.title === 'Buy milk' },
      { query: 'sort=-due_at&overdue=true', keep: (task: Task) => task.title === 'Buy milk' },
      { query: 'sort=-due_at&overdue=false', keep: (task: Task) => task.title !== 'Buy milk' },
      { query: 'sort=priority&priority=high&priority=low', keep: (task: Task) => task.priority !== 'medium' },
      { query: 'sort=-priority&priority=medium', keep: (task: Task) => task.priority === 'medium' },
    ];
    for (const { query, keep } of filteredSorts) {
      it(`filters and sorts together, page by page: ?${query.replaceAll(/\d{4}-[\d:T.-]+Z/g, '…')}`, async () => {
        const api = await sharedApi();
        const { user, tasks } = await userWithTasks(api);
        await userWithTasks(api);
        const sort = /sort=(-?\w+)/.exec(query)![1]!;

        const pages = await walk(api, user, `/api/tasks?${query}&limit=1`);

        expect(pages.flat()).to.deep.equal(sorted(tasks.filter(keep), sort));
      });
    }

    it('keeps tasks without a due date last in both directions', async () => {
      const api = await sharedApi();
      const { user } = await userWithTasks(api);

      for (const sort of ['due_at', '-due_at']) {
        const body = (await list(api, user, `/api/tasks?sort=${sort}`)).body as Task[];
        expect(body.map((task) => task.due_at === null), sort).to.deep.equal([false, false, false, false, true, true]);
      }
    });

    it('pages through a filtered, searched, sorted list by cursor, with the filters in every next link', async () => {
      const api = await sharedApi();
      const { user, tasks } = await userWithTasks(api);
      await userWithTasks(api);

      const pages = await walk(api, user, '/api/tasks?q=rep&tag=WORK&status=pending&status=in_progress&status=completed&sort=-priority&limit=1');

      const expected = sorted(
        tasks.filter((task) => /repo/i.test(task.title) && task.tags.some((tag) => tag.toLowerCase() === 'work')),
        '-priority',
      );
      expect(expected).to.have.length(3);
      expect(pages).to.deep.equal(expected.map((task) => [task]));
      const first = await list(api, user, '/api/tasks?q=rep&tag=WORK&status=pending&status=in_progress&status=completed&sort=-priority&limit=1');
      expect(nextLinkOf(first)).to.match(
        /^\/api\/tasks\?status=pending&status=in_progress&status=completed&tag=work&q=rep&sort=-priority&limit=1&cursor=[A-Za-z0-9_-]+$/,
      );
    });

    it('pages by offset, with the filters and sort in its next and prev links, when offset is sent', async () => {
      const api = await sharedApi();
      const { user, tasks } = await userWithTasks(api);
      const expected = sorted(tasks.filter((task) => task.priority !== 'high'), 'title');

      const response = await list(api, user, '/api/tasks?priority=medium&priority=low&sort=title&limit=1&offset=1');

      expect(response.body).to.deep.equal(expected.slice(1, 2));
      expect(response.headers.link).to.equal(
        '</api/tasks?priority=low&priority=medium&sort=title&limit=1&offset=2>; rel="next", ' +
          '</api/tasks?priority=low&priority=medium&sort=title&limit=1&offset=0>; rel="prev"',
      );
    });
  });

  describe('cursors while tasks change', () => {
    it('never skips or repeats a task that was not touched while others are created, changed and deleted between pages', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const created: Task[] = [];
      for (let index = 0; index < 12; index += 1) {
        if (index > 0) await pause();
        created.push(await createTaskAs(api, user, { title: `Task ${String(index).padStart(2, '0')}` }));
      }
      const newestFirst = [...created].reverse();
      const deleted = new Set<string>();
      const renamed = new Map<string, Task>();

      const pages = await walk(api, user, '/api/tasks?limit=3', async (pageIndex) => {
        // Newer than the cursor: must not show up on later pages (it sorts before them).
        await createTaskAs(api, user, { title: `Inserted after page ${pageIndex}` });
        // One task not yet seen is deleted, one already seen is deleted, one not yet seen is renamed.
        const unseen = newestFirst.slice((pageIndex + 1) * 3).filter((task) => !deleted.has(task.id));
        const seen = newestFirst.slice(0, (pageIndex + 1) * 3).filter((task) => !deleted.has(task.id));
        for (const task of [unseen.at(-1), seen[0]]) {
          if (!task) continue;
          expect((await api.http.delete(`/api/tasks/${task.id}`).set(bearer(user))).status).to.equal(204);
          deleted.add(task.id);
        }
        const toRename = unseen.find((task) => !deleted.has(task.id));
        if (toRename) {
          const response = await api.http.patch(`/api/tasks/${toRename.id}`).set(bearer(user)).send({ title: `${toRename.title} (renamed)` });
          expect(response.status).to.equal(200);
          renamed.set(toRename.id, response.body as Task);
        }
      });

      const seenIds = pages.flat().map((task) => task.id);
      expect(new Set(seenIds).size, 'a task was repeated').to.equal(seenIds.length);
      // Every original task is seen exactly once unless it was deleted before its page came.
      const expected = newestFirst.filter((task) => seenIds.includes(task.id) || !deleted.has(task.id));
      expect(pages.flat()).to.deep.equal(expected.map((task) => renamed.get(task.id) ?? task));
      expect(pages.flat().some((task) => task.title.startsWith('Inserted'))).to.equal(false);
    });

    it('shows a task whose sort value changed after its page at its new place (again), and every other task once', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const created: Task[] = [];
      for (let index = 0; index < 6; index += 1) {
        if (index > 0) await pause();
        created.push(await createTaskAs(api, user, { title: `Task ${index}` }));
      }
      let moved: Task | undefined;

      const pages = await walk(api, user, '/api/tasks?sort=updated_at&limit=2', async (pageIndex) => {
        if (pageIndex !== 0) return;
        await pause();
        // The first task, already seen, is edited: its updated_at now sorts after every other task.
        const response = await api.http.patch(`/api/tasks/${created[0]!.id}`).set(bearer(user)).send({ priority: 'high' });
        expect(response.status).to.equal(200);
        moved = response.body as Task;
      });

      expect(pages.flat()).to.deep.equal([...created, moved]);
    });
  });

  describe('invalid cursors and parameters', () => {
    async function firstCursor(api: TestApi, user: TestUser, query: string): Promise<string> {
      const response = await list(api, user, `/api/tasks?${query}`);
      const cursor = /cursor=([A-Za-z0-9_-]+)/.exec(nextLinkOf(response) ?? '')?.[1];
      expect(cursor, 'a next link with a cursor').to.be.a('string');
      return cursor!;
    }

    const invalidCursorProblem = {
      type: 'cursor-invalid',
      instance: '/api/tasks',
      errors: [{ path: '/query/cursor', keyword: 'invalid' }],
    } as const;
    const foreignCursorProblem = {
      type: 'cursor-mismatch',
      instance: '/api/tasks',
      errors: [{ path: '/query/cursor', keyword: 'mismatch' }],
    } as const;
    const encode = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

    it('returns 422, never 500, for corrupt, truncated, forged or wrongly typed cursors', async () => {
      const api = await sharedApi();
      const { user } = await userWithTasks(api);
      const genuine = await firstCursor(api, user, 'limit=2');
      const decoded = JSON.parse(Buffer.from(genuine, 'base64url').toString()) as { v: number; b: string; p: unknown[] };
      const withPosition = (p: unknown) => encode({ ...decoded, p });

      const forgeries = [
        'garbage',
        'A',
        genuine.slice(0, genuine.length - 7),
        genuine.slice(5),
        encode('not json'),
        encode('null'),
        encode([1, 2]),
        encode({ ...decoded, v: 2 }),
        encode({ ...decoded, extra: true }),
        encode({ v: decoded.v, p: decoded.p }),
        withPosition([]),
        withPosition([decoded.p[0]]),
        withPosition([...decoded.p, 'x']),
        withPosition([12345, decoded.p[1]]),
        withPosition([null, decoded.p[1]]),
        withPosition(['2026-02-30T00:00:00.000Z', decoded.p[1]]),
        withPosition(['0000-01-01T00:00:00.000Z', decoded.p[1]]),
        withPosition(['yesterday', decoded.p[1]]),
        withPosition([decoded.p[0], 'not-a-uuid']),
        withPosition([decoded.p[0], "'; drop table tasks; --"]),
        withPosition({ 0: decoded.p[0], 1: decoded.p[1] }),
      ];
      for (const cursor of forgeries) {
        const response = await api.http.get(`/api/tasks?limit=2&cursor=${cursor}`).set(bearer(user));
        expectProblem(response, invalidCursorProblem);
      }
      // Still a working cursor after all that.
      expect((await list(api, user, `/api/tasks?limit=2&cursor=${genuine}`)).body).to.have.length(2);
    });

    it('returns 422 from the contract for a cursor that is too long or not URL-safe base64', async () => {
      const api = await sharedApi();
      const user = await newUser();

      expectContractViolation(await api.http.get(`/api/tasks?cursor=${'A'.repeat(4097)}`).set(bearer(user)), '/api/tasks', [
        { path: '/query/cursor', keyword: 'too_long' },
      ]);
      expectContractViolation(await api.http.get('/api/tasks?cursor=abc%2Bdef').set(bearer(user)), '/api/tasks', [
        { path: '/query/cursor', keyword: 'invalid_format' },
      ]);
    });

    it('returns 422 for a cursor used with another sort or other filters', async () => {
      const api = await sharedApi();
      const { user } = await userWithTasks(api);
      const cursor = await firstCursor(api, user, 'status=pending&status=in_progress&q=rep&limit=1');

      for (const query of ['', 'status=pending&status=in_progress&q=rep&sort=title', 'status=pending&q=rep', 'status=pending&status=in_progress', 'status=pending&status=in_progress&q=repo', 'status=pending&status=in_progress&q=rep&overdue=false']) {
        const response = await api.http.get(`/api/tasks?${query}&limit=1&cursor=${cursor}`).set(bearer(user));
        expectProblem(response, foreignCursorProblem);
      }
      // The same query spelt differently (order of parameters, case of words, another limit) is the same list.
      const same = await list(api, user, `/api/tasks?q=REP&status=in_progress&status=pending&limit=5&cursor=${cursor}`);
      expect(same.body).to.have.length(1);
    });

    it("returns 422 and nothing of the issuer's tasks when another user sends someone's cursor", async () => {
      const api = await sharedApi();
      const { user: alice, tasks } = await userWithTasks(api);
      const { user: bob } = await userWithTasks(api);
      const cursor = await firstCursor(api, alice, 'sort=title&limit=2');

      const response = await api.http.get(`/api/tasks?sort=title&limit=2&cursor=${cursor}`).set(bearer(bob));

      expectProblem(response, foreignCursorProblem);
      for (const task of tasks) expect(response.text).not.to.include(task.id);
    });

    it('returns 422 when cursor and offset are sent together', async () => {
      const api = await sharedApi();
      const { user } = await userWithTasks(api);
      const cursor = await firstCursor(api, user, 'limit=2');

      const response = await api.http.get(`/api/tasks?limit=2&offset=0&cursor=${cursor}`).set(bearer(user));

      expectProblem(response, {
        type: 'cursor-with-offset',
        instance: '/api/tasks',
        errors: [{ path: '/query/offset', keyword: 'conflict' }],
      });
    });

    const invalidQueries = [
      { query: 'status=done', errors: [{ path: '/query/status/0', keyword: 'not_one_of' }] },
      { query: 'priority=urgent', errors: [{ path: '/query/priority/0', keyword: 'not_one_of' }] },
      { query: 'completed=maybe', errors: [{ path: '/query/completed', keyword: 'wrong_type' }] },
      { query: 'overdue=yes', errors: [{ path: '/query/overdue', keyword: 'wrong_type' }] },
      { query: 'sort=colour', errors: [{ path: '/query/sort', keyword: 'not_one_of' }] },
      {
        query: 'due_before=tomorrow',
        errors: [{ path: '/query/due_before', keyword: 'invalid_format' }],
      },
      { query: 'due_after=0999-12-31T00:00:00Z', errors: [{ path: '/query/due_after', keyword: 'invalid_format' }] },
      { query: 'due_after=2026-12-01', errors: [{ path: '/query/due_after', keyword: 'invalid_format' }] },
      { query: `q=${'x'.repeat(201)}`, errors: [{ path: '/query/q', keyword: 'too_long' }] },
      { query: 'tag=%20%20', errors: [{ path: '/query/tag/0', keyword: 'blank' }] },
    ] as const;
    for (const { query, errors } of invalidQueries) {
      it(`returns 422 naming the parameter for ?${query.length > 40 ? `${query.slice(0, 40)}…` : query}`, async () => {
        const api = await sharedApi();
        const user = await newUser();

        const response = await api.http.get(`/api/tasks?${query}`).set(bearer(user));

        expectContractViolation(response, '/api/tasks', errors);
      });
    }
  });
});
