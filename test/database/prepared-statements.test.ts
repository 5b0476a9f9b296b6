// The pool runs statements as named prepared statements (PostgreSQL parses and plans each once per
// connection), one name per statement text; DATABASE_PREPARED_STATEMENTS=false turns that off for
// poolers that cannot keep them. Checked in pg_prepared_statements of the pool's only connection,
// straight to PostgreSQL (a pooler would show whichever server connection is free).
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'slonik';
import { z } from 'zod';
import { createDatabasePool, type DatabasePool } from '../../src/database/pool.ts';
import { insertTask, selectTaskById, selectTasksPage } from '../../src/database/tasks.ts';
import { directDatabaseUrl, testDatabaseUrl } from '../support/database.ts';

// Where these tasks go: the inbox's top level (the handlers pick a real position; here one key is enough).
const inbox = { listId: null, parentId: null, ancestorIds: [], position: 'a0' } as const;

const preparedRow = z.object({ name: z.string(), statement: z.string() });

async function preparedStatements(pool: DatabasePool) {
  return pool.any(sql.type(preparedRow)`select name, statement from pg_prepared_statements order by statement`);
}

describe('prepared statements', () => {
  let pool: DatabasePool | undefined;

  afterEach(async () => {
    await pool?.end();
    pool = undefined;
  });

  it('prepares each distinct statement once per connection, under a name derived from its text', async () => {
    pool = await createDatabasePool(directDatabaseUrl(testDatabaseUrl()), { maxPoolSize: 1 });
    const owner = `prepared-${randomUUID()}`;
    const task = await insertTask(pool, owner, { title: 'Prepared', description: null, status: 'pending', priority: 'medium', tags: [], dueAt: null, placement: inbox }, '1');
    expect(await selectTaskById(pool, owner, task.id)).to.deep.equal(task);
    expect(await selectTaskById(pool, owner, randomUUID())).to.equal(null);

    const statements = await preparedStatements(pool);
    const ours = statements.filter((row) => /\btasks\b/.test(row.statement) && !row.statement.includes('pg_prepared_statements'));
    expect(ours.map((row) => /^\s*(\w+)/.exec(row.statement)![1]).sort()).to.deep.equal(['insert', 'select']);
    for (const row of statements) expect(row.name).to.match(/^tasks_api_[0-9a-f]{32}$/);
  });

  it('prepares the unconditioned list page, and leaves a filtered page unprepared so each execution is planned for its values', async () => {
    pool = await createDatabasePool(directDatabaseUrl(testDatabaseUrl()), { maxPoolSize: 1 });
    const owner = `listed-${randomUUID()}`;
    const { version: _version, recurrence_anchor: _anchor, recurrence_index: _index, ...task } = await insertTask(
      pool,
      owner,
      { title: 'Listed', description: null, status: 'pending', priority: 'high', tags: ['x'], dueAt: null, placement: inbox },
      '1',
    );
    const query = { filters: { tags: ['X'] }, order: { field: 'created_at', descending: true }, limit: 5 } as const;
    for (let run = 0; run < 7; run += 1) {
      expect(await selectTasksPage(pool, owner, query)).to.deep.equal({ tasks: [task], hasMore: false });
    }

    const afterFiltered = (await preparedStatements(pool)).filter((row) => !row.statement.includes('pg_prepared_statements'));
    expect(afterFiltered.map((row) => /^\s*(\w+)/.exec(row.statement)![1])).to.deep.equal(['insert']);

    const firstPage = { filters: {}, order: { field: 'created_at', descending: true }, limit: 5 } as const;
    for (let run = 0; run < 7; run += 1) {
      expect(await selectTasksPage(pool, owner, firstPage)).to.deep.equal({ tasks: [task], hasMore: false });
    }
    const afterFirstPages = (await preparedStatements(pool)).filter((row) => !row.statement.includes('pg_prepared_statements'));
    expect(afterFirstPages.map((row) => /^\s*(\w+)/.exec(row.statement)![1]).sort()).to.deep.equal(['insert', 'select']);
    expect(afterFirstPages.find((row) => row.statement.trimStart().startsWith('select'))?.statement).to.not.include('where owner_user_id = $1 and');
  });

  it('prepares nothing when turned off', async () => {
    pool = await createDatabasePool(directDatabaseUrl(testDatabaseUrl()), { maxPoolSize: 1, preparedStatements: false });
    const owner = `unprepared-${randomUUID()}`;
    const task = await insertTask(pool, owner, { title: 'Unprepared', description: null, status: 'pending', priority: 'medium', tags: [], dueAt: null, placement: inbox }, '1');
    expect(await selectTaskById(pool, owner, task.id)).to.deep.equal(task);

    expect(await preparedStatements(pool)).to.deep.equal([]);
  });
});
