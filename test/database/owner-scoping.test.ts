// DESIGN.md §3: every statement that touches `tasks` has `owner_user_id = $owner` in its WHERE (or
// VALUES), and query functions take the owner as a required argument. Checked twice: on the SQL the
// running API actually sends (every operation, both route sets, success and 404 paths), and on the
// source of src/database/tasks.ts, so a new query function cannot slip in unscoped.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import type { Interceptor } from 'slonik';
import ts from 'typescript';
import { createECDH, randomBytes } from 'node:crypto';
import { newUser, startTestApi, testVapid, type TestApi, type TestUser } from '../support/api.ts';

type RecordedStatement = { readonly sql: string; readonly values: readonly unknown[] };
type RecordedRequest = {
  readonly label: string;
  readonly user: TestUser;
  readonly status: number;
  readonly statements: readonly RecordedStatement[];
};

// Every table that holds user data (issue 14 added reminders, push subscriptions, webhooks and their deliveries).
const userTables = /\b(tasks|task_reminders|push_subscriptions|webhooks|deliveries)\b/i;
const mentionsTasks = (statement: RecordedStatement) => userTables.test(statement.sql);
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

/** The value bound to `$n`, or a marker that says the owner was not a bound parameter. */
function boundValue(statement: RecordedStatement, placeholder: string | undefined): unknown {
  const index = /^\$(\d+)$/.exec(placeholder ?? '')?.[1];
  return index === undefined ? `<not a bound parameter: ${placeholder}>` : statement.values[Number(index) - 1];
}

/** The owner a SELECT / UPDATE / DELETE on tasks is restricted to; throws when it is not restricted. */
function ownerInWhere(statement: RecordedStatement): unknown {
  const wheres = statement.sql.match(/\bwhere\b/gi) ?? [];
  expect(wheres, `exactly one WHERE in: ${statement.sql}`).to.have.length(1);
  const where = /\bwhere\b([\s\S]*?)(?:\border\s+by\b|\blimit\b|\breturning\b|$)/i.exec(statement.sql)![1]!;
  expect(where, `no OR in the WHERE of: ${statement.sql}`).not.to.match(/\bor\b/i);
  const conditions = where.split(/\band\b/i).map((condition) => condition.trim().replaceAll(/\s+/g, ' '));
  // A statement over two user tables (a reminder and its task) binds the owner on each of them.
  const owners = conditions.filter((condition) => /^(\w+\.)?owner_user_id = \$\d+$/.test(condition));
  expect(owners, `an "owner_user_id = $n" condition in: ${statement.sql}`).to.have.length.at.least(1);
  const bound = new Set(owners.map((owner) => boundValue(statement, owner.split(' = ')[1])));
  expect(bound.size, `one owner bound throughout: ${statement.sql}`).to.equal(1);
  return [...bound][0];
}

/** The owner an INSERT writes (VALUES or SELECT); throws when owner_user_id is not in its column list. */
function ownerInInsert(statement: RecordedStatement): unknown {
  const parsed =
    /^\s*insert\s+into\s+\w+\s*\(([^)]*)\)\s*values\s*\(([\s\S]*)\)\s*(?:returning\b|on\s+conflict\b|$)/i.exec(statement.sql) ??
    /^\s*insert\s+into\s+\w+\s*\(([^)]*)\)\s*select\s+([\s\S]*?)\s+from\b/i.exec(statement.sql);
  expect(parsed, `insert into <table> (…) values (…) | select … from: ${statement.sql}`).not.to.equal(null);
  const columns = splitTopLevel(parsed![1]!);
  const values = splitTopLevel(parsed![2]!);
  expect(values).to.have.length(columns.length);
  const ownerColumn = columns.indexOf('owner_user_id');
  expect(ownerColumn, `owner_user_id in the column list of: ${statement.sql}`).to.be.at.least(0);
  return boundValue(statement, values[ownerColumn]);
}

describe('every statement on tasks is scoped by owner', () => {
  let api: TestApi;
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
    // Some 80 requests, one after another, on a machine other test runs may share.
    this.timeout(120_000);
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
    await send('clearCompletedTasks', alice, 200, (http) => http.post('/api/tasks/clear-completed'));
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
    // Bob's task survived every attempt above.
    await send("bob reads his task", bob, 200, (http) => http.get(`/api/tasks/${bobsTaskId}`));
  });

  after(async () => {
    await api?.close();
  });

  const taskStatements = () =>
    requests.flatMap((request) => request.statements.filter(mentionsTasks).map((statement) => ({ request, statement })));

  it('binds the caller as owner_user_id in the WHERE of every select, update and delete on tasks', () => {
    for (const { request, statement } of taskStatements()) {
      if (kindOf(statement) === 'insert') continue;
      expect(['select', 'update', 'delete'], `${request.label}: ${statement.sql}`).to.include(kindOf(statement));
      expect(ownerInWhere(statement), `${request.label}: ${statement.sql}`).to.equal(request.user.id);
    }
  });

  it('binds the caller as owner_user_id in the column list of every insert into tasks', () => {
    for (const { request, statement } of taskStatements()) {
      if (kindOf(statement) !== 'insert') continue;
      expect(ownerInInsert(statement), `${request.label}: ${statement.sql}`).to.equal(request.user.id);
    }
  });

  it('saw selects, inserts, updates and deletes, and a statement for every request, so the checks are not vacuous', () => {
    const kinds = new Set(taskStatements().map(({ statement }) => kindOf(statement)));
    expect([...kinds].sort()).to.deep.equal(['delete', 'insert', 'select', 'update']);
    for (const request of requests) {
      expect(request.statements.filter(mentionsTasks), request.label).to.have.length.at.least(1);
    }
    // Bob's create + 2 route sets × (12 on her own tasks + 2 × 5 on others') + 6 of issue 3's writes slice
    // + 4 of reminders + 5 of push subscriptions + 14 of webhooks + Bob's read.
    expect(requests).to.have.length(75);
  });
});

// Query files of user tables, and the functions in them that run for the delivery worker across
// owners on purpose (they claim due work; everything they write carries the owner of the row claimed).
const queryFiles: readonly { readonly file: string; readonly minimum: number; readonly workerOnly: readonly string[] }[] = [
  { file: 'tasks.ts', minimum: 5, workerOnly: [] },
  { file: 'task-reminders.ts', minimum: 4, workerOnly: ['updateDueTaskRemindersFired', 'selectReminderLagSeconds'] },
  { file: 'push-subscriptions.ts', minimum: 4, workerOnly: [] },
  { file: 'webhooks.ts', minimum: 8, workerOnly: [] },
  {
    file: 'deliveries.ts',
    minimum: 5,
    workerOnly: [
      'insertReminderPushDeliveries',
      'insertReminderWebhookDeliveries',
      'updateDueDeliveriesClaimed',
      'selectPendingDeliveryCount',
      'deleteFinishedDeliveries',
    ],
  },
];

for (const { file, minimum, workerOnly } of queryFiles) describe(`the queries in src/database/${file}`, () => {
  const sourcePath = path.resolve(import.meta.dirname, '../../src/database', file);
  let source: ts.SourceFile;

  before(async () => {
    source = ts.createSourceFile(sourcePath, await readFile(sourcePath, 'utf8'), ts.ScriptTarget.Latest, true);
  });

  const exportedFunctions = () =>
    source.statements.filter(
      (statement): statement is ts.FunctionDeclaration =>
        ts.isFunctionDeclaration(statement) && (statement.modifiers ?? []).some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword),
    );

  /** Every sql`…` template in the file outside the worker-only functions, placeholders written as `${expression}`. */
  function sqlTemplates(): string[] {
    const templates: string[] = [];
    const visit = (node: ts.Node) => {
      if (ts.isFunctionDeclaration(node) && workerOnly.includes(node.name?.text ?? '')) return;
      if (ts.isTaggedTemplateExpression(node) && /^sql\b/.test(node.tag.getText(source))) {
        const { template } = node;
        templates.push(
          ts.isNoSubstitutionTemplateLiteral(template)
            ? template.text
            : template.head.text +
                template.templateSpans.map((span) => `\${${span.expression.getText(source)}}${span.literal.text}`).join(''),
        );
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    return templates;
  }

  it('puts owner_user_id = ${ownerUserId} (or the owner first in VALUES / SELECT) into every sql template that reads or writes a user table', () => {
    const statements = sqlTemplates().filter((text) => /\b(from|into|update)\s+(tasks|task_reminders|push_subscriptions|webhooks|deliveries)\b/i.test(text));
    // More is fine, fewer means the check missed some.
    expect(statements).to.have.length.at.least(minimum);
    for (const text of statements) {
      const normalized = text.replaceAll(/\s+/g, ' ');
      const scoped =
        /\b(\w+\.)?owner_user_id = \$\{ownerUserId\}/.test(normalized) || /\b(values \(|select )\$\{ownerUserId\},/i.test(normalized);
      expect(scoped, `unscoped statement:\n${text}`).to.equal(true);
    }
  });

  it('takes the database first and a required ownerUserId: string second in every exported function but the worker-only ones', () => {
    const exported = exportedFunctions();
    expect(exported.map((declaration) => declaration.name?.text)).to.include.members(workerOnly);
    for (const declaration of exported) {
      const [database, owner] = declaration.parameters;
      const name = declaration.name?.text;
      expect(database?.name.getText(source), `${name}: first parameter`).to.equal('db');
      if (workerOnly.includes(name ?? '')) continue;
      expect(owner?.name.getText(source), `${name}: second parameter`).to.equal('ownerUserId');
      expect(owner?.type?.getText(source), `${name}: ownerUserId's type`).to.equal('string');
      expect(owner?.questionToken, `${name}: ownerUserId is optional`).to.equal(undefined);
      expect(owner?.initializer, `${name}: ownerUserId has a default`).to.equal(undefined);
    }
  });
});
