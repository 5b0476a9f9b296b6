// Each sort field's facts (src/database/task-sorts.ts) hold together: the statement listTasks
// sends for `sort=<field>` (first page and a cursor page) is served by the index the table names,
// read in order, with no sort step. Sequential scans and sorts are priced out so the planner shows
// which index can serve the order, not which one it prefers on a handful of rows.
import { expect } from 'chai';
import pg from 'pg';
import type { Interceptor } from 'slonik';
import { sortFields, sortsWithinSiblings, type SortField } from '../../src/database/task-sorts.ts';
import { newUser, startTestApi, type TestApi, type TestUser } from '../support/api.ts';
import { contract } from '../support/contract.ts';
import { testDatabaseUrl } from '../support/database.ts';
import { bearer, createTaskAs, nextLinkOf } from '../support/tasks.ts';

type Statement = { readonly sql: string; readonly values: readonly unknown[] };

describe('sort fields and their indexes', () => {
  let api: TestApi;
  let user: TestUser;
  let admin: pg.Client;
  let recorded: Statement[] = [];
  const recorder: Interceptor = {
    name: 'sort-statement-recorder',
    beforeQueryExecution: (_context, query) => {
      recorded.push({ sql: query.sql, values: [...query.values] });
      return null;
    },
  };

  before(async () => {
    api = await startTestApi({ interceptors: [recorder] });
    admin = new pg.Client({ connectionString: testDatabaseUrl() });
    await admin.connect();
    user = await newUser();
    for (const [index, priority] of (['low', 'high', 'medium'] as const).entries()) {
      await createTaskAs(api, user, { title: `Task ${index}`, priority, due_at: index === 1 ? null : '2030-01-01T00:00:00.000Z' });
    }
  });

  after(async () => {
    await admin.end();
    await api.close();
  });

  /** The page statement a GET sends (the one that reads `from tasks`), and the response. */
  async function pageStatement(url: string) {
    recorded = [];
    const response = await api.http.get(url).set(bearer(user));
    expect(response.status, response.text).to.equal(200);
    const statement = recorded.find((entry) => /\bfrom tasks\b/.test(entry.sql));
    expect(statement, `the page statement of ${url}`).not.to.equal(undefined);
    return { statement: statement!, response };
  }

  async function planOf(statement: Statement): Promise<string> {
    await admin.query('begin');
    try {
      await admin.query('set local enable_seqscan = off');
      await admin.query('set local enable_sort = off');
      await admin.query('set local enable_bitmapscan = off');
      const { rows } = await admin.query<{ 'QUERY PLAN': string }>(`explain (costs off) ${statement.sql}`, [...statement.values]);
      return withoutSubPlans(rows.map((row) => row['QUERY PLAN']));
    } finally {
      await admin.query('rollback');
    }
  }

  it('has an entry for every sort field the contract offers, and nothing else', async () => {
    const response = await api.http.get('/api/tasks?sort=nonsense').set(bearer(user));
    expect(response.status).to.equal(422);
    expect(response.body.errors).to.deep.include({ path: '/query/sort', keyword: 'not_one_of', message: response.body.errors[0].message });
    const allowed = contract.components.parameters.Sort.schema.enum as string[];
    const contractFields = new Set(allowed.map((sort) => sort.replace(/^-/, '')));
    expect([...contractFields].sort()).to.deep.equal(Object.keys(sortFields).sort());
  });

  for (const field of Object.keys(sortFields) as SortField[]) {
    for (const descending of [false, true]) {
      // A sort within one sibling group is asked for with the group fixed (the inbox's top level).
      const sort = `${descending ? '-' : ''}${field}${sortsWithinSiblings(field) ? '&list_id=inbox&parent_id=none' : ''}`;
      const index = sortFields[field].index(descending);

      it(`serves sort=${sort} from ${index} in order, on the first page and on a cursor page`, async () => {
        const first = await pageStatement(`/api/tasks?sort=${sort}&limit=1`);
        const firstPlan = await planOf(first.statement);
        expect(firstPlan).to.include(`using ${index} on tasks`);
        expect(firstPlan).not.to.match(/\bSort\b|Seq Scan/);

        const next = nextLinkOf(first.response);
        expect(next).to.be.a('string');
        const page = await pageStatement(next!);
        const pagePlan = await planOf(page.statement);
        expect(pagePlan).to.include(`using ${index} on tasks`);
        expect(pagePlan).not.to.match(/\bSort\b|Seq Scan/);
      });
    }
  }
});

/**
 * The plan without its SubPlan blocks: a task's reminders are a subquery per row whose ordered
 * aggregate sorts them, which says nothing about how the tasks themselves are read.
 */
function withoutSubPlans(lines: readonly string[]): string {
  const kept: string[] = [];
  let subPlanIndent: number | undefined;
  for (const line of lines) {
    const indent = line.length - line.trimStart().length;
    if (subPlanIndent !== undefined && indent > subPlanIndent) continue;
    subPlanIndent = /^\s*SubPlan\b/.test(line) ? indent : undefined;
    if (subPlanIndent === undefined) kept.push(line);
  }
  return kept.join('\n');
}
