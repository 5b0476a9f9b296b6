// What the workload drives: the API over HTTP (undici, one keep-alive connection per workload
// loop); the API's own handlers without HTTP (the product's statements, transactions and pool); and
// one minimal statement per operation straight at PostgreSQL (pg), the floor of what PostgreSQL
// needs for the mix.
import path from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import type { HandlerContext } from '../src/contract.ts';
import type * as DatabasePoolModule from '../src/database/pool.ts';
import type * as HandlersModule from '../src/handlers.ts';
import { nextCursorOf, type ListQuery, type Target } from './workload.ts';

const queryString = (query: ListQuery) => {
  const pairs = Object.entries(query).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).map((entry) => `${name}=${encodeURIComponent(String(entry))}`),
  );
  return pairs.length === 0 ? '' : `?${pairs.join('&')}`;
};

export function httpTarget(baseUrl: string, tokens: readonly string[], connections: number): Target & { close: () => Promise<void> } {
  const pool = new Pool(baseUrl, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const auth = tokens.map((token) => `Bearer ${token}`);
  let counter = 0;
  const send = async (userIndex: number, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown) => {
    const response = await pool.request({
      method,
      path,
      headers: body === undefined ? { authorization: auth[userIndex]! } : { authorization: auth[userIndex]!, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return response;
  };
  const drained = async (response: Awaited<ReturnType<typeof send>>) => {
    await response.body.dump();
    return response.statusCode;
  };
  return {
    list: async (user, query) => {
      const response = await send(user, 'GET', `/api/tasks${queryString(query)}`);
      const link = response.headers.link;
      return { status: await drained(response), nextCursor: nextCursorOf(typeof link === 'string' ? link : undefined) };
    },
    get: async (user, id) => drained(await send(user, 'GET', `/api/tasks/${id}`)),
    create: async (user) => {
      const response = await send(user, 'POST', '/api/tasks', { title: `Bench task ${(counter += 1)}`, description: 'Made by make bench' });
      if (response.statusCode !== 201) return { status: await drained(response) };
      const task = (await response.body.json()) as { id: string };
      return { status: 201, taskId: task.id };
    },
    update: async (user, id) => drained(await send(user, 'PATCH', `/api/tasks/${id}`, { title: `Renamed ${(counter += 1)}` })),
    complete: async (user, id) => drained(await send(user, 'PATCH', `/api/tasks/${id}/complete`)),
    delete: async (user, id) => drained(await send(user, 'DELETE', `/api/tasks/${id}`)),
    close: () => pool.close(),
  };
}

/**
 * The product without HTTP: each operation calls the API's own handler for its operationId (from
 * `apiDir`, the checkout under test), which runs the product's statements of src/database/ in the
 * product's transactions, on a pool made by the product's createDatabasePool with the settings the
 * server uses (DATABASE_POOL_MAX, named prepared statements). So this ceiling cannot drift from the
 * API: what is left between it and the API is HTTP, routing, validation, auth, logs and limits.
 * Inputs are shaped as the contract's validator hands them to the handler (defaults applied).
 */
export async function productTarget(
  apiDir: string,
  databaseUrl: string,
  userIds: readonly string[],
  poolSize: number,
): Promise<Target & { close: () => Promise<void> }> {
  const { createDatabasePool } = (await import(path.join(apiDir, 'src/database/pool.ts'))) as typeof DatabasePoolModule;
  const { handlers } = (await import(path.join(apiDir, 'src/handlers.ts'))) as typeof HandlersModule;
  const pool = await createDatabasePool(databaseUrl, { maxPoolSize: poolSize });
  const context: HandlerContext = { db: pool, isShuttingDown: () => false };
  let counter = 0;
  // A handler answers an HTTP error by throwing a problem with its status (404, 412…).
  const statusOf = (error: unknown) => {
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number') return status;
    throw error;
  };
  const answer = async (work: Promise<{ readonly status: number }>) => {
    try {
      return (await work).status;
    } catch (error) {
      return statusOf(error);
    }
  };
  const input = (user: number, requestPath: string) => ({ params: {}, query: {}, body: undefined, headers: {}, requestPath, ownerUserId: userIds[user]! });
  const taskInput = (user: number, id: string, suffix = '') => ({ ...input(user, `/api/tasks/${id}${suffix}`), params: { task_id: id } });
  return {
    list: async (user, query) => {
      try {
        const result = await handlers.listTasks(
          { ...input(user, '/api/tasks'), query: { limit: 50, sort: '-created_at', ...query } as never },
          context,
        );
        return { status: result.status, nextCursor: nextCursorOf(result.headers?.Link) };
      } catch (error) {
        return { status: statusOf(error) };
      }
    },
    get: (user, id) => answer(handlers.getTask(taskInput(user, id), context)),
    create: async (user) => {
      const body = { title: `Bench task ${(counter += 1)}`, description: 'Made by make bench' };
      try {
        const result = await handlers.createTask({ ...input(user, '/api/tasks'), body }, context);
        return { status: result.status, taskId: result.body.id };
      } catch (error) {
        return { status: statusOf(error) };
      }
    },
    update: (user, id) => answer(handlers.updateTask({ ...taskInput(user, id), body: { title: `Renamed ${(counter += 1)}` } }, context)),
    complete: (user, id) => answer(handlers.completeTask(taskInput(user, id, '/complete'), context)),
    delete: (user, id) => answer(handlers.deleteTask(taskInput(user, id), context)),
    close: () => pool.end(),
  };
}

// The floor: one statement per operation, the least PostgreSQL can do for each (no change clock, no
// transaction, no tombstone): what the API's statements for a first page, a get and each write
// would be if a write were nothing but its row. Not a copy to keep in step: productTarget is the
// product's real SQL.
const taskColumns = `id, owner_user_id as user_id, title, description, status = 'completed' as completed, status,
  completed_at, created_at, updated_at, priority, tags, due_at`;
const statements = {
  list: `select ${taskColumns} from tasks where owner_user_id = $1 order by created_at desc, id desc limit $2 offset $3`,
  get: `select ${taskColumns} from tasks where owner_user_id = $1 and id = $2`,
  // The floor places every new task at one fixed manual-order key: finding the neighbour's key is the product's work, not the floor's.
  create: `insert into tasks (owner_user_id, title, description, status, completed_at, priority, tags, due_at, position)
    values ($1, $2, $3, $4, case when $5 = 'completed' then now() end, $6, $7::text[], $8::timestamptz, 'a0') returning ${taskColumns}`,
  update: `update tasks set title = $1, status = status,
    completed_at = case when status = 'completed' then coalesce(completed_at, now()) end, updated_at = now()
    where owner_user_id = $2 and id = $3 returning ${taskColumns}`,
  complete: `update tasks set status = (case when status = 'completed' then 'pending' else 'completed' end),
    completed_at = case when (case when status = 'completed' then 'pending' else 'completed' end) = 'completed' then coalesce(completed_at, now()) end,
    updated_at = now() where owner_user_id = $1 and id = $2 returning ${taskColumns}`,
  delete: `delete from tasks where owner_user_id = $1 and id = $2 returning id`,
};

/**
 * `poolSize` connections, as the API has (DATABASE_POOL_MAX); every operation checks a connection
 * out of the pool and returns it, as Slonik does per statement. Timestamps are parsed and turned
 * into ISO strings as the API's type parser does, so the client-side row work is comparable too.
 */
export function minimalSqlTarget(databaseUrl: string, userIds: readonly string[], poolSize: number): Target & { close: () => Promise<void> } {
  const types = {
    getTypeParser: (oid: number, format?: string) =>
      oid === 1184 ? (value: string) => new Date(value).toISOString() : pg.types.getTypeParser(oid, format as 'text'),
  };
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize, types });
  // An idle connection's error (the server going away) must not crash the run; the next query reports it.
  pool.on('error', (error) => console.error(`raw-SQL pool: ${error.message}`));
  let counter = 0;
  // Named prepared statements, as the API's pool uses (src/database/prepared-statements.ts); BENCH_SQL_PREPARED=0 for
  // the ceiling of unnamed statements (what v1 sent).
  const prepared = process.env.BENCH_SQL_PREPARED !== '0';
  const nameOf = new Map(Object.entries(statements).map(([name, text]) => [text, `bench_${name}`]));
  const run = <R extends pg.QueryResultRow>(text: string, values: unknown[]) =>
    prepared ? pool.query<R>({ name: nameOf.get(text), text, values }) : pool.query<R>(text, values);
  const rowCount = async (text: string, values: unknown[]) => (await run(text, values)).rowCount ?? 0;
  const okIfRow = (expected: number) => (count: number) => (count === 1 ? expected : 404);
  return {
    list: async (user, query) => {
      if (Object.keys(query).length > 0) throw new Error('the minimal floor has only the first page (BENCH_MIX=standard)');
      await run(statements.list, [userIds[user], 51, 0]);
      return { status: 200 };
    },
    get: async (user, id) => okIfRow(200)(await rowCount(statements.get, [userIds[user], id])),
    create: async (user) => {
      const { rows } = await run<{ id: string }>(statements.create, [userIds[user], `Bench task ${(counter += 1)}`, 'Made by make bench', 'pending', 'pending', 'medium', [], null]);
      return { status: 201, taskId: rows[0]!.id };
    },
    update: async (user, id) => okIfRow(200)(await rowCount(statements.update, [`Renamed ${(counter += 1)}`, userIds[user], id])),
    complete: async (user, id) => okIfRow(200)(await rowCount(statements.complete, [userIds[user], id])),
    delete: async (user, id) => okIfRow(204)(await rowCount(statements.delete, [userIds[user], id])),
    close: () => pool.end(),
  };
}
