// Named prepared statements: PostgreSQL parses and plans each distinct statement once per
// connection instead of at every execution (about a quarter of its CPU per request under `make
// bench`). A transaction-mode pooler that does not track them (PgBouncer before 1.21, or one
// without max_prepared_statements) runs each transaction on whichever server connection is free, so
// a name this connection prepared is missing there (26000) or one it did not is already there
// (42P05). The pool then turns naming off for good, says so once, and runs the statement again
// unnamed (see pool.ts): no request fails for it, and DATABASE_PREPARED_STATEMENTS=false skips the
// first failure altogether.
import { createHash } from 'node:crypto';
import { sql, type Interceptor } from 'slonik';

/**
 * The name is derived from the text, so one text always has one name and two texts never share
 * one. Dynamic SQL comes only from fragments over whitelists, so there are few distinct texts; past
 * the bound, statements run unnamed as before rather than growing every backend's memory.
 */
const maxPreparedStatements = 500;
const preparedStatementNames = new Map<string, string>();

/**
 * Ends a statement whose best plan depends on its values: the task list (one owner has ten tasks,
 * another 100,000; a search word is rare or common; a due range is a day or a year). Such a
 * statement is not prepared, so PostgreSQL plans it for the values at hand every time instead of
 * settling on a generic plan after five executions. Measured by `make bench-queries` on 1,000,000
 * tasks: generic plans took `?q=report` from 0.6 ms to 136 ms and a due-range first page from
 * 0.9 ms to 80–160 ms.
 */
export const plannedForItsValues = sql.fragment` /* planned for its values */`;
const planPerExecutionMarker = plannedForItsValues.sql.trim();

export type StatementNaming = {
  readonly interceptor: Interceptor;
  readonly enabled: () => boolean;
  /** Stops naming statements on this pool; true only for the call that turned it off. */
  readonly turnOff: () => boolean;
};

/** One pool's naming, on or off; once off (configured, or a pooler lost a name) it stays off. */
export function statementNaming(initiallyOn: boolean): StatementNaming {
  let on = initiallyOn;
  return {
    enabled: () => on,
    turnOff: () => {
      const wasOn = on;
      on = false;
      return wasOn;
    },
    interceptor: {
      name: 'prepare-statements',
      transformQuery: (_context, query) => {
        if (!on || query.sql.endsWith(planPerExecutionMarker)) return query;
        let name = preparedStatementNames.get(query.sql);
        if (name === undefined) {
          if (preparedStatementNames.size >= maxPreparedStatements) return query;
          name = `tasks_api_${createHash('sha256').update(query.sql).digest('hex').slice(0, 32)}`;
          preparedStatementNames.set(query.sql, name);
        }
        return { ...query, name };
      },
    },
  };
}
