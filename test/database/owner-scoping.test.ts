// Isolation, checked on the SQL the running API actually sends (every operation, both route sets,
// success and 404 paths): every statement on a table that holds a user's data binds the caller as
// owner_user_id, in every WHERE and in every INSERT, and every query function on such a table takes
// the owner as a required argument. The tables are every table with an owner_user_id column
// (information_schema), so a table added later is covered without editing this file, and fails
// here until a request below reaches it. The recorder replaced a check of the source text, which
// an owner condition inside a conditional sql.fragment could fool.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import type { Interceptor } from 'slonik';
import ts from 'typescript';
import { createECDH, randomBytes } from 'node:crypto';
import { newUser, startTestApi, testVapid, type TestApi, type TestUser } from '../support/api.ts';
import { inTestDatabase } from '../support/versions.ts';

type RecordedStatement = { readonly sql: string; readonly values: readonly unknown[] };
type RecordedRequest = {
  readonly label: string;
  readonly user: TestUser;
  readonly status: number;
  readonly statements: readonly RecordedStatement[];
};

/** Every table of the schema with an owner_user_id column: the tables that hold a user's data. */
async function ownerTables(): Promise<string[]> {
  const rows = await inTestDatabase(
    `select table_name from information_schema.columns
     where column_name = 'owner_user_id' and table_schema = current_schema()
     order by table_name`,
    [],
  );
  return rows.map((row) => String(row.table_name));
}

/** The owner tables a statement reads or writes (FROM, JOIN, UPDATE, DELETE FROM, INSERT INTO). */
const tablesOf = (sql: string, tables: readonly string[]) =>
  tables.filter((table) => new RegExp(String.raw`\b(from|join|update|into)\s+${table}\b`, 'i').test(sql));

const referencesTo = (sql: string, tables: readonly string[]) =>
  tables.reduce((count, table) => count + (sql.match(new RegExp(String.raw`\b(from|join|update)\s+${table}\b`, 'gi'))?.length ?? 0), 0);

const kindOf = (statement: RecordedStatement) => /^\s*(\w+)/.exec(statement.sql)?.[1]?.toLowerCase() ?? '';

/** Splits on commas that are not inside parentheses or string literals. */
function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const character of list) {
    if (character === "'") quoted = !quoted;
    else if (!quoted && character === '(') depth += 1;
    else if (!quoted && character === ')') depth -= 1;
    if (character === ',' && depth === 0 && !quoted) {
      parts.push(current.trim());
      current = '';
    } else {
      current += character;
    }
  }
  parts.push(current.trim());
  return parts;
}

/** The inside of the first balanced (…) group of `text`. */
function firstGroup(text: string): string {
  const start = text.indexOf('(');
  let depth = 0;
  for (let index = start; index < text.length; index += 1) {
    if (text[index] === '(') depth += 1;
    if (text[index] === ')' && --depth === 0) return text.slice(start + 1, index);
  }
  return '';
}

/** The end of the balanced (…) group that opens at `start` (its closing parenthesis), skipping string literals. */
function closingParenthesis(text: string, start: number): number {
  let depth = 0;
  let quoted = false;
  for (let index = start; index < text.length; index += 1) {
    const character = text[index];
    if (character === "'") quoted = !quoted;
    else if (!quoted && character === '(') depth += 1;
    else if (!quoted && character === ')' && --depth === 0) return index;
  }
  throw new Error(`unbalanced parentheses in: ${text}`);
}

/**
 * A statement as the statements it is made of: a `with …` statement is each of its CTEs' bodies
 * (a write in one of them is a write like any other) and its main query; any other is itself.
 */
function partsOf(statement: RecordedStatement): RecordedStatement[] {
  if (!/^\s*with\b/i.test(statement.sql)) return [statement];
  const parts: RecordedStatement[] = [];
  const text = statement.sql;
  let rest = /^\s*with\s+/i.exec(text)![0].length;
  for (;;) {
    const head = /^\s*\w+\s*(?:\([^)]*\)\s*)?as\s+(?:not\s+)?(?:materialized\s+)?\(/i.exec(text.slice(rest));
    if (!head) break;
    const open = rest + head[0].length - 1;
    const close = closingParenthesis(text, open);
    parts.push({ sql: text.slice(open + 1, close), values: statement.values });
    const comma = /^\s*,/.exec(text.slice(close + 1));
    rest = close + 1 + (comma ? comma[0].length : 0);
    if (!comma) break;
  }
  parts.push({ sql: text.slice(rest), values: statement.values });
  return parts;
}

/** The value bound to `$n`, or a marker that says the owner was not a bound parameter. */
function boundValue(statement: RecordedStatement, placeholder: string | undefined): unknown {
  const index = /^\$(\d+)$/.exec(placeholder ?? '')?.[1];
  return index === undefined ? `<not a bound parameter: ${placeholder}>` : statement.values[Number(index) - 1];
}

/**
 * The owners every WHERE of the statement is restricted to (one per WHERE), after checking that
 * each has an `owner_user_id = $n` condition, no OR, and that no owner table is read or changed
 * outside such a WHERE.
 */
function ownersInWheres(statement: RecordedStatement, tables: readonly string[]): unknown[] {
  const [, ...afterEachWhere] = statement.sql.split(/\bwhere\b/i);
  const owners = afterEachWhere.map((text) => {
    const where = text.split(/\b(?:order\s+by|group\s+by|limit|returning)\b/i)[0]!;
    expect(where, `no OR in a WHERE of: ${statement.sql}`).not.to.match(/\bor\b/i);
    const owner = /(?:^|[\s(])(?:\w+\.)?owner_user_id\s*=\s*(\$\d+)/.exec(where)?.[1];
    expect(owner, `an "owner_user_id = $n" condition in every WHERE of: ${statement.sql}`).to.be.a('string');
    return boundValue(statement, owner);
  });
  expect(owners.length, `every FROM/JOIN/UPDATE of an owner table has its WHERE: ${statement.sql}`).to.be.at.least(
    referencesTo(statement.sql, tables),
  );
  return owners;
}

/** The owner an INSERT writes (VALUES or SELECT form); throws when owner_user_id is not in its column list. */
function ownerInInsert(statement: RecordedStatement): unknown {
  const parsed = /^\s*insert\s+into\s+\w+\s*(\([^)]*\))\s*(values|select)\b([\s\S]*)$/i.exec(statement.sql);
  expect(parsed, `insert into … (…) values (…) or select …: ${statement.sql}`).not.to.equal(null);
  const columns = splitTopLevel(firstGroup(parsed![1]!));
  const rest = parsed![3]!;
  const values = splitTopLevel(parsed![2]!.toLowerCase() === 'values' ? firstGroup(rest) : rest.split(/\bfrom\b/i)[0]!);
  expect(values, `as many values as columns in: ${statement.sql}`).to.have.length(columns.length);
  const ownerColumn = columns.indexOf('owner_user_id');
  expect(ownerColumn, `owner_user_id in the column list of: ${statement.sql}`).to.be.at.least(0);
  return boundValue(statement, values[ownerColumn]);
}

describe("every statement on a table of users' data is scoped by owner", () => {
  let api: TestApi;
  let tables: string[];
  const requests: RecordedRequest[] = [];
  let recording: RecordedStatement[] | undefined;

  const recorder: Interceptor = {
    name: 'statement-recorder',
    beforeQueryExecution: (_context, query) => {
      recording?.push({ sql: query.sql, values: [...query.values] });
      return null;
    },
  };

  before(async function () {
    // Eighty requests in a row: generous on a loaded machine.
    this.timeout(180_000);
    tables = await ownerTables();
    api = await startTestApi({ interceptors: [recorder], vapid: testVapid });
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const nobodysTaskId = '00000000-0000-4000-8000-000000000000';

    /** Sends one request as `user`, expects `status`, and keeps the statements it caused. */
    const send = async (
      label: string,
      user: TestUser,
      status: number,
      request: (http: TestApi['http']) => ReturnType<TestApi['http']['get']>,
    ) => {
      recording = [];
      const response = await request(api.http).set('Authorization', user.authorization).timeout(10_000);
      const statements = recording;
      recording = undefined;
      expect(response.status, `${label}: ${response.text}`).to.equal(status);
      requests.push({ label, user, status, statements });
      return response;
    };

    const bobsTaskId = (await send('bob creates a task', bob, 201, (http) => http.post('/api/tasks').send({ title: "Bob's" }))).body.id;

    for (const base of ['/api/tasks', `/api/${alice.id}/tasks`]) {
      const created = await send(`createTask ${base}`, alice, 201, (http) =>
        http.post(base).send({ title: 'Scoped', description: 'd', status: 'in_progress' }),
      );
      const own = `${base}/${created.body.id}`;
      await send(`listTasks ${base}`, alice, 200, (http) => http.get(`${base}?limit=5&offset=0`));
      await send(`createTask (a second) ${base}`, alice, 201, (http) =>
        http.post(base).send({ title: 'Scoped too', status: 'in_progress', priority: 'high', tags: ['Work'], due_at: '2000-01-01T00:00:00Z' }),
      );
      const searched = await send(`listTasks (search, sorted) ${base}`, alice, 200, (http) =>
        http.get(`${base}?status=in_progress&q=scop&sort=title&limit=1`),
      );
      const next = /<([^>]+)>; rel="next"/.exec(searched.headers.link ?? '')?.[1];
      await send(`listTasks (next page by cursor) ${base}`, alice, 200, (http) => http.get(next!));
      await send(`listTasks (every other filter) ${base}`, alice, 200, (http) =>
        http.get(
          `${base}?completed=false&priority=high&priority=low&tag=work&due_after=1999-01-01T00:00:00Z&due_before=2001-01-01T00:00:00Z&overdue=true&sort=-due_at`,
        ),
      );
      await send(`getTask ${base}`, alice, 200, (http) => http.get(own));
      await send(`replaceTask ${base}`, alice, 200, (http) => http.put(own).send({ title: 'Replaced', completed: true }));
      await send(`updateTask ${base}`, alice, 200, (http) => http.patch(own).send({ description: null, status: 'pending' }));
      await send(`completeTask (toggle) ${base}`, alice, 200, (http) => http.patch(`${own}/complete`));
      await send(`completeTask (set) ${base}`, alice, 200, (http) => http.patch(`${own}/complete`).send({ completed: false }));
      for (const [whose, taskId] of [
        ["someone else's", bobsTaskId],
        ['no', nobodysTaskId],
      ] as const) {
        const other = `${base}/${taskId}`;
        await send(`getTask of ${whose} task ${base}`, alice, 404, (http) => http.get(other));
        await send(`replaceTask of ${whose} task ${base}`, alice, 404, (http) => http.put(other).send({ title: 'Mine now' }));
        await send(`updateTask of ${whose} task ${base}`, alice, 404, (http) => http.patch(other).send({ title: 'Mine now' }));
        await send(`completeTask of ${whose} task ${base}`, alice, 404, (http) => http.patch(`${other}/complete`));
        await send(`deleteTask of ${whose} task ${base}`, alice, 404, (http) => http.delete(other));
      }
      await send(`deleteTask ${base}`, alice, 204, (http) => http.delete(own));
    }
    // Conditional and idempotent writes, the change feed, the summary, clear-completed.
    const guarded = await send('createTask with Idempotency-Key', alice, 201, (http) =>
      http.post('/api/tasks').set('Idempotency-Key', 'owner-scoping').send({ title: 'Guarded', completed: true }),
    );
    const guardedPath = `/api/tasks/${guarded.body.id}`;
    await send('updateTask with a stale If-Match', alice, 412, (http) => http.patch(guardedPath).set('If-Match', '"0"').send({ title: 'Stale' }));
    await send('getTask with If-None-Match', alice, 304, (http) => http.get(guardedPath).set('If-None-Match', String(guarded.headers.etag)));
    await send('listTaskChanges', alice, 200, (http) => http.get('/api/tasks/changes?limit=5'));
    await send('getTaskSummary', alice, 200, (http) => http.get('/api/tasks/summary?tz=Europe/Paris'));
    // Recurrence and the completion history.
    const recurring = await send('createTask (recurring)', alice, 201, (http) =>
      http.post('/api/tasks').send({ title: 'Weekly', due_at: '2030-01-07T08:00:00Z', recurrence: { rule: 'FREQ=WEEKLY', time_zone: 'Europe/Paris' } }),
    );
    const recurringPath = `/api/tasks/${recurring.body.id}`;
    await send('completeTask (roll-forward)', alice, 200, (http) => http.patch(`${recurringPath}/complete`));
    await send('skipTaskOccurrence', alice, 200, (http) => http.post(`${recurringPath}/skip`));
    await send('listTaskOccurrences', alice, 200, (http) => http.get(`${recurringPath}/occurrences?limit=3`));
    const history = await send('listTaskCompletions', alice, 200, (http) => http.get(`${recurringPath}/completions?limit=5`));
    await send('listCompletions', alice, 200, (http) => http.get('/api/completions?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z'));
    await send('undoTaskCompletion', alice, 200, (http) => http.delete(`${recurringPath}/completions/${history.body[0].id}`));
    await send('updateTask (stop recurring)', alice, 200, (http) => http.patch(recurringPath).send({ recurrence: null }));
    for (const [whose, taskId] of [
      ["someone else's", bobsTaskId],
      ['no', nobodysTaskId],
    ] as const) {
      const other = `/api/tasks/${taskId}`;
      await send(`listTaskCompletions of ${whose} task`, alice, 404, (http) => http.get(`${other}/completions`));
      await send(`undoTaskCompletion of ${whose} task`, alice, 404, (http) => http.delete(`${other}/completions/${history.body[0].id}`));
      await send(`skipTaskOccurrence of ${whose} task`, alice, 404, (http) => http.post(`${other}/skip`));
      await send(`listTaskOccurrences of ${whose} task`, alice, 404, (http) => http.get(`${other}/occurrences`));
    }
    await send('clearCompletedTasks', alice, 200, (http) => http.post('/api/tasks/clear-completed'));
    // Lists, subtasks and manual order (issue 12), on her own rows and on Bob's.
    const bobsListId = (await send('bob creates a list', bob, 201, (http) => http.post('/api/lists').send({ name: "Bob's" }))).body.id;
    const listId = (await send('createList', alice, 201, (http) => http.post('/api/lists').send({ name: 'Scoped' }))).body.id;
    const otherListId = (await send('createList (a second)', alice, 201, (http) => http.post('/api/lists').send({ name: 'Other' }))).body.id;
    await send('listLists', alice, 200, (http) => http.get('/api/lists'));
    await send('getList', alice, 200, (http) => http.get(`/api/lists/${listId}`));
    await send('updateList', alice, 200, (http) => http.patch(`/api/lists/${listId}`).send({ color: 'red' }));
    await send('moveList', alice, 200, (http) => http.post(`/api/lists/${listId}/move`).send({ after_id: otherListId }));
    const parentId = (await send('createTask in a list', alice, 201, (http) => http.post('/api/tasks').send({ title: 'P', list_id: listId }))).body.id;
    const childId = (await send('createTask as a subtask', alice, 201, (http) => http.post('/api/tasks').send({ title: 'C', parent_id: parentId }))).body.id;
    await send('listTasks by list and parent, sort=position', alice, 200, (http) => http.get(`/api/tasks?list_id=${listId}&parent_id=none&sort=position`));
    await send('listTasks of a parent', alice, 200, (http) => http.get(`/api/tasks?parent_id=${parentId}&sort=position`));
    await send('getTaskSummary of a list', alice, 200, (http) => http.get(`/api/tasks/summary?list_id=${listId}`));
    await send('moveTask to another list', alice, 200, (http) => http.post(`/api/tasks/${parentId}/move`).send({ list_id: otherListId }));
    await send('moveTask within its parent', alice, 200, (http) => http.post(`/api/tasks/${childId}/move`).send({ parent_id: parentId }));
    // Within its own group a move is a read and one write (database/task-writes.ts): after and before a sibling.
    const siblingId = (await send('createTask as a second subtask', alice, 201, (http) => http.post('/api/tasks').send({ title: 'C2', parent_id: parentId })))
      .body.id;
    await send('moveTask after a sibling', alice, 200, (http) => http.post(`/api/tasks/${siblingId}/move`).send({ after_id: childId }));
    await send('moveTask before a sibling', alice, 200, (http) => http.post(`/api/tasks/${siblingId}/move`).send({ before_id: childId }));
    await send('listTaskChanges with lists', alice, 200, (http) => http.get('/api/tasks/changes?include=lists'));
    for (const [label, status, request] of [
      ["getList of Bob's list", 404, (http: TestApi['http']) => http.get(`/api/lists/${bobsListId}`)],
      ["updateList of Bob's list", 404, (http: TestApi['http']) => http.patch(`/api/lists/${bobsListId}`).send({ name: 'Mine' })],
      ["moveList of Bob's list", 404, (http: TestApi['http']) => http.post(`/api/lists/${bobsListId}/move`).send({})],
      ["deleteList of Bob's list", 404, (http: TestApi['http']) => http.delete(`/api/lists/${bobsListId}`)],
      ["createTask in Bob's list", 422, (http: TestApi['http']) => http.post('/api/tasks').send({ title: 'X', list_id: bobsListId })],
      ["createTask under Bob's task", 422, (http: TestApi['http']) => http.post('/api/tasks').send({ title: 'X', parent_id: bobsTaskId })],
      ["moveTask of Bob's task", 404, (http: TestApi['http']) => http.post(`/api/tasks/${bobsTaskId}/move`).send({})],
      ["moveTask after Bob's task", 422, (http: TestApi['http']) => http.post(`/api/tasks/${parentId}/move`).send({ after_id: bobsTaskId })],
      ["listTasks of Bob's list", 422, (http: TestApi['http']) => http.get(`/api/tasks?list_id=${bobsListId}`)],
    ] as const) {
      await send(label, alice, status, request);
    }
    await send('deleteList moving its tasks', alice, 204, (http) => http.delete(`/api/lists/${otherListId}?move_tasks_to=${listId}`));
    await send('deleteTask with subtasks', alice, 204, (http) => http.delete(`/api/tasks/${parentId}`));
    await send('deleteList with its tasks', alice, 204, (http) => http.delete(`/api/lists/${listId}`));
    // Reminders (issue 14): written with the task, rescheduled by its writes, listed when due.
    const reminded = await send('createTask with reminders', alice, 201, (http) =>
      http.post('/api/tasks').send({ title: 'Remind me', due_at: '2999-01-01T00:00:00Z', reminders: [{ before_due: 'PT1H' }, { remind_at: '2998-01-01T00:00:00Z' }] }),
    );
    await send('updateTask moving due_at and replacing reminders', alice, 200, (http) =>
      http.patch(`/api/tasks/${reminded.body.id}`).send({ due_at: '2999-02-01T00:00:00Z', reminders: [{ id: reminded.body.reminders[0].id, before_due: 'PT2H' }] }),
    );
    await send('completeTask cancelling reminders', alice, 200, (http) => http.patch(`/api/tasks/${reminded.body.id}/complete`));
    await send('listDueReminders', alice, 200, (http) => http.get('/api/reminders/due?until=2999-12-31T00%3A00%3A00Z'));
    // Push subscriptions and webhooks (issue 14), and the events task writes put in the outbox.
    const keys = { p256dh: createECDH('prime256v1').generateKeys().toString('base64url'), auth: randomBytes(16).toString('base64url') };
    const subscription = await send('createPushSubscription', alice, 201, (http) =>
      http.post('/api/push-subscriptions').send({ endpoint: 'https://push.example.com/alice', keys }),
    );
    await send('listPushSubscriptions', alice, 200, (http) => http.get('/api/push-subscriptions'));
    const bobsSubscription = await send('bob subscribes', bob, 201, (http) =>
      http.post('/api/push-subscriptions').send({ endpoint: 'https://push.example.com/bob', keys }),
    );
    await send("deletePushSubscription of bob's", alice, 404, (http) => http.delete(`/api/push-subscriptions/${bobsSubscription.body.id}`));
    await send('deletePushSubscription', alice, 204, (http) => http.delete(`/api/push-subscriptions/${subscription.body.id}`));
    const webhook = await send('createWebhook', alice, 201, (http) =>
      http.post('/api/webhooks').send({ url: 'https://hooks.example.com/alice', events: ['task.created', 'task.updated', 'task.deleted'] }),
    );
    const bobsWebhook = await send('bob registers a webhook', bob, 201, (http) =>
      http.post('/api/webhooks').send({ url: 'https://hooks.example.com/bob', events: ['task.created'] }),
    );
    const hook = `/api/webhooks/${webhook.body.id}`;
    await send('listWebhooks', alice, 200, (http) => http.get('/api/webhooks'));
    await send('getWebhook', alice, 200, (http) => http.get(hook));
    await send('updateWebhook', alice, 200, (http) => http.patch(hook).send({ enabled: true, url: 'https://hooks.example.com/alice2' }));
    await send('createTask with a webhook listening', alice, 201, (http) => http.post('/api/tasks').send({ title: 'Evented' }));
    await send('testWebhook', alice, 202, (http) => http.post(`${hook}/test`));
    await send('listWebhookDeliveries', alice, 200, (http) => http.get(`${hook}/deliveries`));
    for (const [label, request] of [
      ['getWebhook', (http: TestApi['http']) => http.get(`/api/webhooks/${bobsWebhook.body.id}`)],
      ['updateWebhook', (http: TestApi['http']) => http.patch(`/api/webhooks/${bobsWebhook.body.id}`).send({ enabled: true })],
      ['testWebhook', (http: TestApi['http']) => http.post(`/api/webhooks/${bobsWebhook.body.id}/test`)],
      ['listWebhookDeliveries', (http: TestApi['http']) => http.get(`/api/webhooks/${bobsWebhook.body.id}/deliveries`)],
      ['deleteWebhook', (http: TestApi['http']) => http.delete(`/api/webhooks/${bobsWebhook.body.id}`)],
    ] as const) {
      await send(`${label} of bob's`, alice, 404, request);
    }
    await send('deleteWebhook', alice, 204, (http) => http.delete(hook));
    // Bob's task and list survived every attempt above.
    await send("bob reads his task", bob, 200, (http) => http.get(`/api/tasks/${bobsTaskId}`));
    await send("bob reads his list", bob, 200, (http) => http.get(`/api/lists/${bobsListId}`));
  });

  after(async () => {
    await api?.close();
  });

  // A `with …` statement is checked part by part (partsOf): each CTE and the main query.
  const ownerStatements = () =>
    requests.flatMap((request) =>
      request.statements
        .flatMap(partsOf)
        .filter((statement) => tablesOf(statement.sql, tables).length > 0)
        .map((statement) => ({ request, statement })),
    );

  it('finds the tables of users\' data in the schema (tasks, their change clocks and tombstones, idempotency keys at least)', () => {
    expect(tables).to.include.members(['idempotency_keys', 'list_tombstones', 'lists', 'task_change_clocks', 'task_tombstones', 'tasks']);
  });

  it('binds the caller as owner_user_id in every WHERE of every statement on those tables', () => {
    for (const { request, statement } of ownerStatements()) {
      expect(['select', 'update', 'delete', 'insert'], `${request.label}: ${statement.sql}`).to.include(kindOf(statement));
      // An insert reads in two places, each checked when it reads a table of users' data: where its
      // rows come from (VALUES, the rows of an earlier CTE, or a SELECT) and its RETURNING list (a
      // task's reminders). What it writes is checked by the next test.
      const returning = kindOf(statement) === 'insert' ? /\breturning\b/i.exec(statement.sql)?.index : undefined;
      const reads =
        returning === undefined
          ? [statement]
          : [statement.sql.slice(0, returning), statement.sql.slice(returning)].map((sql) => ({ ...statement, sql }));
      for (const read of reads) {
        if (kindOf(statement) === 'insert' && referencesTo(read.sql, tables) === 0) continue;
        for (const owner of ownersInWheres(read, tables)) expect(owner, `${request.label}: ${statement.sql}`).to.equal(request.user.id);
      }
    }
  });

  it('binds the caller as owner_user_id in the column list of every insert into those tables', () => {
    for (const { request, statement } of ownerStatements()) {
      if (kindOf(statement) !== 'insert') continue;
      expect(ownerInInsert(statement), `${request.label}: ${statement.sql}`).to.equal(request.user.id);
    }
  });

  it('saw every table of users\' data, selects, inserts, updates and deletes, and a statement for every request, so the checks are not vacuous', () => {
    const touched = new Set(ownerStatements().flatMap(({ statement }) => tablesOf(statement.sql, tables)));
    expect([...touched].sort(), 'tables no request below reached: add requests that do').to.deep.equal(tables);
    const kinds = new Set(ownerStatements().map(({ statement }) => kindOf(statement)));
    expect([...kinds]).to.include.members(['delete', 'insert', 'select', 'update']);
    for (const request of requests) {
      expect(request.statements.filter((statement) => tablesOf(statement.sql, tables).length > 0), request.label).to.have.length.at.least(1);
    }
    // Bob's create + 2 route sets × (12 on her own tasks + 2 × 5 on others') + 6 conditional, idempotent, feed,
    // summary and clear-completed requests + Bob's read; + 8 + 2 × 4 recurrence and completion-history
    // requests; + 4 of reminders, 5 of push subscriptions, 14 of webhooks (issue 14); + issue 12's lists
    // and subtasks: Bob's list, 17 on hers, 9 on Bob's, 3 deletes, Bob reading his list.
    expect(requests).to.have.length(91 + 31);
  });
});

/**
 * The delivery worker's statements that work across owners on purpose (issue 14): claiming due
 * reminders and deliveries, writing a fired batch's deliveries (each joined to its own owner's
 * targets), pruning, and the metrics' counts. No request runs them; everything they write carries
 * the owner of the row they claimed.
 */
const crossOwnerWorkerFunctions = [
  'updateDueTaskRemindersFired',
  'selectReminderLagSeconds',
  'insertReminderPushDeliveries',
  'insertReminderWebhookDeliveries',
  'updateDueDeliveriesClaimed',
  'selectPendingDeliveryCount',
  'deleteFinishedDeliveries',
];

describe("the query functions on tables of users' data (src/database/)", () => {
  const folder = path.resolve(import.meta.dirname, '../../src/database');

  /** Every exported function of src/database/*.ts with the text of the sql`…` templates inside it. */
  async function exportedQueryFunctions() {
    const functions: { file: string; declaration: ts.FunctionDeclaration; source: ts.SourceFile; sql: string }[] = [];
    for (const file of (await readdir(folder)).filter((name) => name.endsWith('.ts'))) {
      const source = ts.createSourceFile(file, await readFile(path.join(folder, file), 'utf8'), ts.ScriptTarget.Latest, true);
      for (const declaration of source.statements) {
        if (!ts.isFunctionDeclaration(declaration)) continue;
        if (!(declaration.modifiers ?? []).some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)) continue;
        const templates: string[] = [];
        const visit = (node: ts.Node) => {
          if (ts.isTaggedTemplateExpression(node) && /^sql\b/.test(node.tag.getText(source))) templates.push(node.template.getText(source));
          ts.forEachChild(node, visit);
        };
        visit(declaration);
        functions.push({ file, declaration, source, sql: templates.join('\n') });
      }
    }
    return functions;
  }

  it('take the database first and a required ownerUserId: string second whenever their SQL reads or writes such a table', async () => {
    const tables = await ownerTables();
    const functions = (await exportedQueryFunctions())
      .filter(({ sql }) => tablesOf(sql, tables).length > 0)
      .filter(({ declaration }) => !crossOwnerWorkerFunctions.includes(declaration.name?.text ?? ''));
    // insertTask, selectTaskById, selectTasksPage, updateTaskById, deleteTaskById, the change clock,
    // tombstone and idempotency-key functions: more is fine, fewer means the search missed them.
    expect(functions.length).to.be.at.least(12);
    for (const { file, declaration, source } of functions) {
      const [database, owner] = declaration.parameters;
      const name = `${file}: ${declaration.name?.text}`;
      expect(database?.name.getText(source), `${name}: first parameter`).to.equal('db');
      expect(owner?.name.getText(source), `${name}: second parameter`).to.equal('ownerUserId');
      expect(owner?.type?.getText(source), `${name}: ownerUserId's type`).to.equal('string');
      expect(owner?.questionToken, `${name}: ownerUserId is optional`).to.equal(undefined);
      expect(owner?.initializer, `${name}: ownerUserId has a default`).to.equal(undefined);
    }
  });
});
