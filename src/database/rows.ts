// How rows leave the database: every row is checked against its zod schema at run time (Slonik's
// `sql.type` alone only types it), and timestamps come out as RFC 3339 strings, so handlers can
// return rows to the client as they are.
import { createTypeParserPreset, SchemaValidationError, type DriverTypeParser, type Interceptor } from 'slonik';

// Synchronous on purpose: Slonik runs `transformRowAsync` through a p-queue with a promise per row,
// which cost more than the checking itself; our row schemas are plain zod objects, whose Standard
// Schema validation answers synchronously.
export const resultParserInterceptor: Interceptor = {
  name: 'result-parser',
  transformRow: (context, query, row) => {
    const parser = context.resultParser;
    if (!parser) return row;
    const result = parser['~standard'].validate(row);
    if (result instanceof Promise) throw new TypeError('row schemas must validate synchronously (no async refinements)');
    if (result.issues) throw new SchemaValidationError(query, row, result.issues);
    return result.value as typeof row;
  },
};

// PostgreSQL renders timestamptz as '2026-11-23 18:00:00.123+00'; clients get RFC 3339 UTC. The
// columns are timestamptz(3), so nothing is lost converting through a JavaScript Date. A session in
// UTC (the usual case) is rewritten as text, which costs a fraction of parsing a Date per value.
const utcTimestamp = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,3}))?\+00$/;
const timestamptzAsIsoString: DriverTypeParser = {
  name: 'timestamptz',
  parse: (value: string) => {
    const utc = utcTimestamp.exec(value);
    if (!utc) return new Date(value).toISOString();
    return `${utc[1]}T${utc[2]}.${(utc[3] ?? '').padEnd(3, '0')}Z`;
  },
};

export const typeParsers = [
  ...createTypeParserPreset().filter((parser) => parser.name !== 'timestamptz'),
  timestamptzAsIsoString,
];
