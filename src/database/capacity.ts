// What the database server will allow, checked once at start by the process that owns the
// database side (the only process, or the cluster primary): the limits in force for our
// statements, and whether the planned connections fit in what the server has left for this role.
import pg from 'pg';
import type { Logger } from 'pino';
import { databaseDeadlineMs, transactionStatementTimeoutMs } from './deadlines.ts';
import { withDriverSslMode } from './ssl-mode.ts';

export type ServerCapacity = {
  readonly maxConnections: number;
  /** Slots this role cannot use: superuser_reserved_connections (+ reserved_connections, PostgreSQL 16+), 0 for a superuser. */
  readonly reservedForOthers: number;
  /** Client connections already open on the whole server, this check's own excluded. */
  readonly inUse: number;
  /** The role's CONNECTION LIMIT (null: none) and how many it already holds. */
  readonly roleLimit: number | null;
  readonly roleInUse: number;
  readonly statementTimeout: string;
  readonly idleInTransactionSessionTimeout: string;
};

type CapacityRow = {
  max_connections: number;
  superuser_reserved: number;
  reserved: number;
  is_superuser: boolean;
  role_limit: number;
  in_use: number;
  role_in_use: number;
  statement_timeout: string;
  idle_in_transaction_session_timeout: string;
};

export async function readServerCapacity(databaseUrl: string): Promise<ServerCapacity> {
  const client = new pg.Client({
    connectionString: withDriverSslMode(databaseUrl, 'pg'),
    application_name: 'tasks-api start-up check',
    connectionTimeoutMillis: databaseDeadlineMs,
  });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<CapacityRow>(`
      select current_setting('max_connections')::int as max_connections,
             current_setting('superuser_reserved_connections')::int as superuser_reserved,
             coalesce(current_setting('reserved_connections', true), '0')::int as reserved,
             r.rolsuper as is_superuser,
             r.rolconnlimit as role_limit,
             (select count(*)::int from pg_stat_activity
               where backend_type = 'client backend' and pid <> pg_backend_pid()) as in_use,
             (select count(*)::int from pg_stat_activity
               where backend_type = 'client backend' and pid <> pg_backend_pid() and usename = current_user) as role_in_use,
             current_setting('statement_timeout') as statement_timeout,
             current_setting('idle_in_transaction_session_timeout') as idle_in_transaction_session_timeout
        from pg_roles r where r.rolname = current_user`);
    const row = rows[0]!;
    return {
      maxConnections: row.max_connections,
      reservedForOthers: row.is_superuser ? 0 : row.superuser_reserved + row.reserved,
      inUse: row.in_use,
      roleLimit: row.role_limit < 0 ? null : row.role_limit,
      roleInUse: row.role_in_use,
      statementTimeout: row.statement_timeout,
      idleInTransactionSessionTimeout: row.idle_in_transaction_session_timeout,
    };
  } finally {
    await client.end().catch(() => {});
  }
}

/** The connections this role can still open: what the server has left, capped by the role's own limit. */
export function connectionsLeft(capacity: ServerCapacity): number {
  const serverLeft = capacity.maxConnections - capacity.reservedForOthers - capacity.inUse;
  const roleLeft = capacity.roleLimit === null ? Number.POSITIVE_INFINITY : capacity.roleLimit - capacity.roleInUse;
  return Math.max(0, Math.min(serverLeft, roleLeft));
}

/**
 * Logs the limits in force, and warns with the numbers when DATABASE_POOL_MAX × WEB_CONCURRENCY
 * does not fit in the connections left. Never fails the start: the numbers change as other clients
 * come and go, and a pooler in between (whose own limits are not visible from SQL) changes them.
 */
export async function checkServerCapacity(
  databaseUrl: string,
  planned: { readonly poolMax: number; readonly processes: number },
  log: Logger,
): Promise<ServerCapacity | undefined> {
  let capacity: ServerCapacity;
  try {
    capacity = await readServerCapacity(databaseUrl);
  } catch (error) {
    log.warn({ reason: error instanceof Error ? error.message : String(error) }, 'could not read the server limits');
    return undefined;
  }
  log.info(
    {
      clientDeadlineMs: databaseDeadlineMs,
      transactionStatementTimeoutMs,
      roleStatementTimeout: capacity.statementTimeout,
      roleIdleInTransactionSessionTimeout: capacity.idleInTransactionSessionTimeout,
    },
    `database limits: every call ends within ${databaseDeadlineMs} ms (client deadline); transactions SET LOCAL ` +
      `statement_timeout = ${transactionStatementTimeoutMs} ms; otherwise the role's statement_timeout ` +
      `(${capacity.statementTimeout}) and idle_in_transaction_session_timeout (${capacity.idleInTransactionSessionTimeout}) apply`,
  );
  const needed = planned.poolMax * planned.processes;
  const left = connectionsLeft(capacity);
  const numbers = {
    needed,
    poolMax: planned.poolMax,
    processes: planned.processes,
    maxConnections: capacity.maxConnections,
    reservedForOthers: capacity.reservedForOthers,
    inUse: capacity.inUse,
    roleLimit: capacity.roleLimit,
    roleInUse: capacity.roleInUse,
    left,
  };
  if (needed > left) {
    log.warn(
      numbers,
      `the pool may not fit: DATABASE_POOL_MAX ${planned.poolMax} × WEB_CONCURRENCY ${planned.processes} = ${needed} connections, ` +
        `but the server has ${left} left for this role (max_connections ${capacity.maxConnections} − ${capacity.reservedForOthers} reserved − ` +
        `${capacity.inUse} in use${capacity.roleLimit === null ? '' : `; role limit ${capacity.roleLimit}, ${capacity.roleInUse} in use`}); ` +
        'requests past that get 503. Lower DATABASE_POOL_MAX, or go through a pooler (README "Deployment", pool sizing)',
    );
  } else {
    log.info(numbers, `pool fits: ${needed} connections needed, ${left} left on the server for this role`);
  }
  return capacity;
}
