// No caller waits on the database longer than a fixed deadline: an outage is a prompt 503, never a
// hang. This client-side deadline is the guarantee, because it holds whatever sits between us and
// PostgreSQL; a transaction pooler (Neon's pooled endpoint, PgBouncer) refuses or drops timeouts
// sent as connection start-up parameters, so nothing is sent at start-up. Where a server-side limit
// matters — a write transaction holds its owner's change-clock row lock, and a statement whose
// client gave up keeps running (and locking) until it ends — each transaction sets statement_timeout
// with SET LOCAL, which a pooler passes through and which ends with the transaction. (SET takes no
// snapshot, so a transaction may still choose its isolation level next.) An idle transaction needs
// no server limit of ours: past the deadline its connection is destroyed, and PostgreSQL, or the
// pooler, ends the transaction when the socket closes. Server limits for single statements are the
// operator's role settings (README "Deployment"), logged at start.
import { AsyncLocalStorage } from 'node:async_hooks';
import { ConnectionError, sql, type DatabasePool, type DriverFactory, type Interceptor } from 'slonik';

// How long a request waits for the database (a pooled connection, then the answer to one
// statement) before it gets a 503.
export const databaseDeadlineMs = 5_000;

/** statement_timeout inside every transaction (SET LOCAL): longer than the client's deadline. */
export const transactionStatementTimeoutMs = 10_000;

// SET takes no bind parameters: the value is a literal (a constant of ours, not input).
const setTransactionLimits = sql.unsafe`set local statement_timeout = ${sql.literalValue(`${transactionStatementTimeoutMs}ms`)}`;

export const databaseTooSlow = () => new ConnectionError(`The database did not answer within ${databaseDeadlineMs} ms.`);

function withDeadline<T>(work: Promise<T>, onExpiry: () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      onExpiry();
      reject(databaseTooSlow());
    }, databaseDeadlineMs);
    work.then(resolve, reject).finally(() => clearTimeout(deadline));
  });
}

/**
 * Slonik has no client-side query timeout: a statement sent on a pooled connection to a server
 * that has stopped answering (a network partition, a frozen proxy) would wait until TCP gives up,
 * many minutes. Past the deadline the statement fails with a ConnectionError (a 503), and Slonik
 * destroys its connection.
 */
export function withStatementDeadline(driverFactory: DriverFactory): DriverFactory {
  return async (input) => {
    const driver = await driverFactory(input);
    return {
      createClient: async () => {
        const client = await driver.createClient();
        // Slonik's destroy() detaches its own 'error' listener once gracefulTerminationTimeout has
        // passed, even if the socket has not closed yet; a socket error after that (the server
        // terminating the backend, a reset when the network returns) would be an 'error' event
        // with no listener, which crashes the process. Slonik has already logged and destroyed
        // the connection by then, so there is nothing left to do with the error.
        client.on('error', () => {});
        return { ...client, query: (...args) => withDeadline(client.query(...args), () => {}) };
      },
    };
  };
}

/**
 * A full pool queues a request until a pooled connection is released or destroyed; a connection
 * attempt that fails outright wakes no one. So in an outage, with more requests than connections,
 * a queued request would wait for the whole outage, then run its statement long after its client
 * was answered. Each call therefore has the same deadline, and a statement whose caller has given
 * up is refused when its turn comes instead of being sent.
 */
const callInProgress = new AsyncLocalStorage<{ abandoned: boolean }>();

export const refuseAbandonedStatements: Interceptor = {
  name: 'refuse-abandoned-statements',
  beforeQueryExecution: () => {
    if (callInProgress.getStore()?.abandoned) throw databaseTooSlow();
    return null;
  },
};

// `transaction` too: its wait for a connection is the same queue, and its deadline covers the
// whole (short) transaction; a statement it issues after the deadline is refused, so it rolls back.
export const statementMethods = new Set([
  'any',
  'anyFirst',
  'exists',
  'many',
  'manyFirst',
  'maybeOne',
  'maybeOneFirst',
  'one',
  'oneFirst',
  'query',
  'transaction',
]);

export function withCallDeadline(pool: DatabasePool): DatabasePool {
  return new Proxy(pool, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !statementMethods.has(property) || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const call = { abandoned: false };
        if (property === 'transaction') {
          const [handler, ...rest] = args as [(connection: unknown) => Promise<unknown>, ...unknown[]];
          args = [
            async (connection: { query: (query: typeof setTransactionLimits) => Promise<unknown> }) => {
              await connection.query(setTransactionLimits);
              return handler(connection);
            },
            ...rest,
          ];
        }
        return callInProgress.run(call, () =>
          withDeadline(value.apply(target, args) as Promise<unknown>, () => {
            call.abandoned = true;
          }),
        );
      };
    },
  });
}
