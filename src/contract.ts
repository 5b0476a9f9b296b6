// Types derived from the generated contract types. Handlers are a map keyed by operationId whose
// inputs and results come from here, so a missing or extra operation, a wrong body field or an
// undocumented success status is a `tsc` error, not a runtime surprise.
import path from 'node:path';
import type { components, operations } from '../generated/tasks-api.d.ts';
import type { DatabasePool } from './database/pool.ts';

export const contractPath = path.resolve(import.meta.dirname, '../openapi/tasks-api.yaml');

export type Task = components['schemas']['Task'];
export type List = components['schemas']['List'];
export type TaskStatus = components['schemas']['TaskStatus'];
export type Priority = components['schemas']['Priority'];
export type Recurrence = components['schemas']['Recurrence'];
export type RecurrenceInput = NonNullable<components['schemas']['RecurrenceInput']>;
export type Completion = components['schemas']['Completion'];
export type TaskSort = NonNullable<components['parameters']['Sort']>;
export type FieldError = components['schemas']['FieldError'];
export type FieldErrorKeyword = components['schemas']['FieldErrorKeyword'];
export type OpenApiDocument = components['schemas']['OpenApiDocument'];
export type Problem = components['schemas']['Problem'];
export type ProblemType = components['schemas']['ProblemType'];

export type OperationId = keyof operations;

/** Operations the contract marks `security: []`; every other one needs a verified caller. */
export type PublicOperationId = 'health' | 'ready' | DocumentationOperationId;

/** The documentation routes (src/docs.ts): public, and not JSON except the contract itself. */
export type DocumentationOperationId = 'docsPortal' | 'docsScript' | 'contractYaml' | 'contractJson' | 'problemTypePage';

// 304 is a success the contract documents for getTask; Express sends it (If-None-Match against the
// 200's ETag, see getTask in handlers.ts), so no handler returns it, but the type allows it.
type SuccessStatus = 200 | 201 | 202 | 204 | 304;
type Responses<Op extends OperationId> = operations[Op]['responses'];
type SuccessStatusOf<Op extends OperationId> = Extract<keyof Responses<Op>, SuccessStatus>;

export type ResponseHeaders = Readonly<Record<string, string>>;

export type HandlerResult<Op extends OperationId> = {
  [S in SuccessStatusOf<Op>]: Responses<Op>[S] extends { content: { 'application/json': infer Body } }
    ? { readonly status: S; readonly body: Body; readonly headers?: ResponseHeaders }
    : // Another media type (HTML, YAML, JavaScript): the body is sent as is, with that type.
      Responses<Op>[S] extends { content: infer Content extends Record<string, string> }
      ? { readonly status: S; readonly body: string; readonly contentType: keyof Content & string; readonly headers?: ResponseHeaders }
      : { readonly status: S; readonly body?: never; readonly headers?: ResponseHeaders };
}[SuccessStatusOf<Op>];

// `{}` rather than `never` for "no parameters", so a handler for `/api/tasks` also fits
// `/api/{user_id}/tasks`, whose extra `user_id` it does not read.
type Present<T> = [NonNullable<T>] extends [never] ? {} : NonNullable<T>;

type JsonBody<Op extends OperationId> = operations[Op] extends { requestBody: { content: { 'application/json': infer Body } } }
  ? Body
  : operations[Op] extends { requestBody?: { content: { 'application/json': infer Body } } }
    ? Body | undefined
    : undefined;

export type HandlerInput<Op extends OperationId> = {
  /** Path parameters, already validated (and coerced) against the contract. */
  readonly params: Present<operations[Op]['parameters']['path']>;
  /** Query parameters, validated against the contract, defaults applied. */
  readonly query: Present<operations[Op]['parameters']['query']>;
  readonly body: JsonBody<Op>;
  /** Header parameters the contract declares (lower-case names), validated against it. */
  readonly headers: Present<operations[Op]['parameters']['header']>;
  /** The request's path without its query string, for Location and Link headers. */
  readonly requestPath: string;
};

export type HandlerContext = {
  readonly db: DatabasePool;
  readonly isShuttingDown: () => boolean;
  /** Web Push's VAPID key pair (RFC 8292); absent when this server runs without push. */
  readonly vapid?: VapidKeys;
  /** Development and tests only: push endpoints and webhooks may be loopback URLs. */
  readonly allowLoopback?: boolean;
};

export type VapidKeys = { readonly publicKey: string; readonly privateKey: string; readonly subject: string };

export type AuthenticatedHandler<Op extends OperationId> = (
  input: HandlerInput<Op> & { readonly ownerUserId: string },
  context: HandlerContext,
) => Promise<HandlerResult<Op>>;

export type PublicHandler<Op extends OperationId> = (
  input: HandlerInput<Op>,
  context: HandlerContext,
) => Promise<HandlerResult<Op>>;

/**
 * `true` when a row type has exactly the contract schema's properties, with compatible types.
 * Handlers return query rows as response bodies, and an inferred async return type escapes
 * TypeScript's excess-property check, so row types assert this instead:
 * `true satisfies RowFitsContract<Row, Task>`. Literal bodies use `satisfies HandlerResult<Op>`.
 */
export type RowFitsContract<Row, Schema> = [Row] extends [Schema]
  ? [Exclude<keyof Row, keyof Schema> | Exclude<keyof Schema, keyof Row>] extends [never]
    ? true
    : false
  : false;

export type HandlerMap = {
  readonly [Op in OperationId]: Op extends PublicOperationId ? PublicHandler<Op> : AuthenticatedHandler<Op>;
};
