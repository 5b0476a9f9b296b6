// The one place an error becomes an HTTP response: every failure, from any layer, is mapped here
// to an RFC 9457 problem document by the first matching row of `problemTable`. Nothing internal
// (stack, SQL, driver message) ever reaches a response body; unexpected errors are logged instead.
import type { Logger } from 'pino';
import type { FieldError, Problem, ProblemType } from './contract.ts';
import { AuthenticationError, AuthUnavailableError, bearerChallenge, PathUserMismatchError } from './auth.ts';
import { classifyDatabaseError } from './database/errors.ts';
import { fieldErrorsOf, type ValidatorEntry, type ValueAt } from './field-errors.ts';

/** A problem type's name: its `type` URI without the `/problems/` prefix. */
export type ProblemSlug = ProblemType extends `/problems/${infer Slug}` ? Slug : never;

/**
 * Every problem type the API answers with: one entry per distinct cause, each with its status and
 * title (RFC 9457: the same title for every problem of a type). A new cause is a new entry here and
 * in the contract's `ProblemType` schema (with what it means), then `make generate`: `satisfies`
 * makes tsc refuse a slug the contract does not list and one it lists but this table lacks, and
 * test/http/problem-types.test.ts checks the statuses and titles agree.
 */
export const problemTypes = {
  'malformed-json': { status: 400, title: 'Request body is not valid JSON' },
  'malformed-request': { status: 400, title: 'Request could not be read' },
  'token-missing': { status: 401, title: 'Access token missing' },
  'token-expired': { status: 401, title: 'Access token expired' },
  'token-malformed': { status: 401, title: 'Access token malformed' },
  'token-signature-invalid': { status: 401, title: 'Access token signature invalid' },
  'token-key-unknown': { status: 401, title: 'Access token signed with an unknown key' },
  'token-key-embedded': { status: 401, title: 'Access token names its own key' },
  'token-algorithm-refused': { status: 401, title: 'Access token algorithm not accepted' },
  'token-not-yet-valid': { status: 401, title: 'Access token not valid yet' },
  'token-issue-time-invalid': { status: 401, title: 'Access token issue time invalid' },
  'token-expiry-missing': { status: 401, title: 'Access token has no expiry' },
  'token-issuer-refused': { status: 401, title: 'Access token from an untrusted issuer' },
  'token-audience-refused': { status: 401, title: 'Access token for another audience' },
  'token-subject-invalid': { status: 401, title: 'Access token has no usable subject' },
  'token-invalid': { status: 401, title: 'Access token refused' },
  'metrics-token-required': { status: 401, title: 'Metrics token required' },
  'user-path-mismatch': { status: 403, title: 'User id in the path is not the caller' },
  'task-not-found': { status: 404, title: 'Task not found' },
  'list-not-found': { status: 404, title: 'List not found' },
  'path-not-found': { status: 404, title: 'Nothing at this path' },
  'completion-not-found': { status: 404, title: 'Completion not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed on this path' },
  'request-timeout': { status: 408, title: 'Request did not arrive in time' },
  'idempotency-key-in-flight': { status: 409, title: 'Idempotency-Key still in use' },
  'list-name-taken': { status: 409, title: 'List name already used' },
  'completion-not-latest': { status: 409, title: 'Not the latest completion' },
  'recurrence-ended': { status: 409, title: 'Series has no further occurrence' },
  'feed-position-expired': { status: 410, title: 'Change feed position too old' },
  'task-changed': { status: 412, title: 'Task changed since the ETag sent' },
  'list-changed': { status: 412, title: 'List changed since the ETag sent' },
  'body-too-large': { status: 413, title: 'Request body too large' },
  'uri-too-long': { status: 414, title: 'URL too long' },
  'unsupported-media-type': { status: 415, title: 'Body is not application/json' },
  'validation-failed': { status: 422, title: 'Request does not match the contract' },
  'completion-status-conflict': { status: 422, title: 'completed and status disagree' },
  'cursor-with-offset': { status: 422, title: 'cursor and offset sent together' },
  'cursor-invalid': { status: 422, title: 'Cursor not valid' },
  'cursor-mismatch': { status: 422, title: 'Cursor belongs to another query' },
  'unknown-time-zone': { status: 422, title: 'Unknown time zone' },
  'idempotency-key-reused': { status: 422, title: 'Idempotency-Key used for another request' },
  'feed-position-invalid': { status: 422, title: 'Not a change feed position' },
  'nul-character': { status: 422, title: 'Text contains a NUL character' },
  'too-many-lists': { status: 422, title: 'Too many lists' },
  'list-unknown': { status: 422, title: 'Not one of your lists' },
  'parent-unknown': { status: 422, title: 'Not one of your tasks' },
  'parent-in-another-list': { status: 422, title: "list_id differs from the parent's list" },
  'subtask-cycle': { status: 422, title: 'Task placed under itself' },
  'subtasks-too-deep': { status: 422, title: 'Subtasks nested too deep' },
  'neighbour-not-sibling': { status: 422, title: 'Neighbour is not a sibling' },
  'position-sort-needs-siblings': { status: 422, title: 'sort=position needs one sibling group' },
  'move-tasks-to-invalid': { status: 422, title: 'move_tasks_to is not another of your lists' },
  'recurrence-rule-unsupported': { status: 422, title: 'Recurrence rule outside the supported subset' },
  'recurrence-rule-invalid': { status: 422, title: 'Recurrence rule not valid' },
  'recurrence-needs-due-date': { status: 422, title: 'Recurring task without a due date' },
  'recurrence-never-occurs': { status: 422, title: 'Recurrence rule never occurs again' },
  'recurrence-too-complex': { status: 422, title: 'Recurrence rule too costly to compute' },
  'task-not-recurring': { status: 422, title: 'Task does not recur' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  'headers-too-large': { status: 431, title: 'Request headers too large' },
  'push-not-configured': { status: 404, title: 'Web Push not configured' },
  'push-subscription-not-found': { status: 404, title: 'Push subscription not found' },
  'webhook-not-found': { status: 404, title: 'Webhook not found' },
  'reminder-needs-due-date': { status: 422, title: 'Relative reminder without a due date' },
  'reminder-too-early': { status: 422, title: 'Reminder more than 30 days before the due date' },
  'reminder-id-repeated': { status: 422, title: 'Two reminders with the same id' },
  'push-endpoint-refused': { status: 422, title: 'Push endpoint not allowed' },
  'push-keys-invalid': { status: 422, title: 'Push subscription keys invalid' },
  'webhook-url-refused': { status: 422, title: 'Webhook URL not allowed' },
  'internal-error': { status: 500, title: 'Internal error' },
  'database-unavailable': { status: 503, title: 'Database unavailable' },
  'token-issuer-unavailable': { status: 503, title: 'Token issuer unavailable' },
  'shutting-down': { status: 503, title: 'Server shutting down' },
} as const satisfies { readonly [Slug in ProblemSlug]: { readonly status: number; readonly title: string } };

export const problemTypeUri = (slug: ProblemSlug): ProblemType => `/problems/${slug}` as ProblemType;

/** An error a handler (or another module) throws on purpose, naming its problem type. */
export class ProblemError extends Error {
  override name = 'ProblemError';
  readonly type: ProblemSlug;
  readonly detail: string;
  readonly errors?: readonly FieldError[];
  readonly headers?: Readonly<Record<string, string>>;
  constructor(
    type: ProblemSlug,
    detail: string,
    extra: { readonly errors?: readonly FieldError[]; readonly headers?: Readonly<Record<string, string>> } = {},
  ) {
    super(detail);
    this.type = type;
    this.detail = detail;
    this.errors = extra.errors;
    this.headers = extra.headers;
  }
}

export const taskNotFound = () => new ProblemError('task-not-found', 'Task not found.');
export const listNotFound = () => new ProblemError('list-not-found', 'List not found.');

export const retryAfterSeconds = '5';

type Mapped = {
  readonly type: ProblemSlug;
  readonly detail: string;
  readonly errors?: readonly FieldError[];
  readonly headers?: Readonly<Record<string, string>>;
};

/** Errors from body-parser and express-openapi-validator carry these. */
type HttpLikeError = {
  status?: number;
  type?: string;
  expose?: boolean;
  limit?: number;
  message?: string;
  headers?: Record<string, string>;
  errors?: ValidatorEntry[];
};

const asHttp = (error: unknown): HttpLikeError => (typeof error === 'object' && error !== null ? error : {});
const isValidatorError = (error: unknown) => Array.isArray(asHttp(error).errors);

// First match wins. The order matters: specific causes before the generic status rows.
const problemTable: ReadonlyArray<readonly [(error: unknown) => boolean, (error: never, valueAt: ValueAt) => Mapped]> = [
  [(error) => error instanceof ProblemError, (error: ProblemError) => error],
  [
    (error) => error instanceof AuthenticationError,
    (error: AuthenticationError) => ({
      type: error.type,
      detail: error.detail,
      headers: { 'WWW-Authenticate': bearerChallenge(error) },
    }),
  ],
  [
    // The validator itself refuses a request with no Authorization header, or a non-Bearer one,
    // before our security handler runs: the same answer as the auth module's "missing" case.
    (error) => isValidatorError(error) && asHttp(error).status === 401,
    () => {
      const missing = new AuthenticationError('token-missing', 'Send an access token: Authorization: Bearer <token>.');
      return { type: missing.type, detail: missing.detail, headers: { 'WWW-Authenticate': bearerChallenge(missing) } };
    },
  ],
  [
    (error) => error instanceof PathUserMismatchError,
    (error: PathUserMismatchError) => ({ type: 'user-path-mismatch', detail: error.message }),
  ],
  [
    (error) => error instanceof AuthUnavailableError,
    () => ({
      type: 'token-issuer-unavailable',
      detail: 'Access tokens cannot be verified right now (the token issuer is unreachable); try again shortly.',
      headers: { 'Retry-After': retryAfterSeconds },
    }),
  ],
  [
    (error) => asHttp(error).type === 'entity.parse.failed',
    () => ({ type: 'malformed-json', detail: 'The request body is not valid JSON.' }),
  ],
  [
    (error) => asHttp(error).type === 'entity.too.large',
    (error: HttpLikeError) => ({ type: 'body-too-large', detail: `The request body is larger than ${error.limit} bytes.` }),
  ],
  [
    // body-parser: unsupported charset or content encoding.
    (error) => asHttp(error).status === 415,
    (error: HttpLikeError) => ({
      type: 'unsupported-media-type',
      detail: isValidatorError(error)
        ? 'Send the request body as application/json.'
        : `${error.message ?? 'Unsupported media type'}.`,
    }),
  ],
  [
    (error) => isValidatorError(error) && asHttp(error).status === 400,
    (error: HttpLikeError, valueAt: ValueAt) => ({
      type: 'validation-failed',
      detail: 'The request does not match the API contract; see errors for each field.',
      errors: fieldErrorsOf(error.errors ?? [], valueAt),
    }),
  ],
  [
    (error) => isValidatorError(error) && asHttp(error).status === 404,
    () => ({ type: 'path-not-found', detail: 'There is nothing at this path.' }),
  ],
  [
    (error) => isValidatorError(error) && asHttp(error).status === 405,
    (error: HttpLikeError): Mapped => ({
      type: 'method-not-allowed',
      detail: 'This path does not support this method.',
      headers: error.headers?.Allow ? { Allow: error.headers.Allow } : {},
    }),
  ],
  [
    // PostgreSQL text cannot hold NUL characters. The contract's patterns refuse them already;
    // this row keeps any field that slips through a client error rather than a 500.
    (error) => classifyDatabaseError(error).kind === 'untranslatable-text',
    () => ({
      type: 'nul-character',
      detail: 'Text fields cannot contain NUL (U+0000) characters.',
      errors: [{ path: '/body', keyword: 'contains_nul', message: 'Text fields must not contain NUL characters.' }],
    }),
  ],
  [
    (error) => classifyDatabaseError(error).kind === 'unavailable',
    () => ({
      type: 'database-unavailable',
      detail: 'The database is unavailable; try again shortly.',
      headers: { 'Retry-After': retryAfterSeconds },
    }),
  ],
  // Node's HTTP parser refusing a request before any of the app runs (the server's clientError).
  [
    (error) => (error as { code?: unknown }).code === 'HPE_HEADER_OVERFLOW',
    () => ({ type: 'headers-too-large', detail: 'The request headers are larger than this server accepts.' }),
  ],
  [
    (error) => (error as { code?: unknown }).code === 'ERR_HTTP_REQUEST_TIMEOUT',
    () => ({ type: 'request-timeout', detail: 'The request did not arrive in time.' }),
  ],
  [
    (error) => String((error as { code?: unknown }).code).startsWith('HPE_'),
    () => ({ type: 'malformed-request', detail: 'The request is not valid HTTP/1.1.' }),
  ],
  [
    // Any other 400 a library raised knowingly: body-parser's aborted body, or one shorter or
    // longer than its Content-Length (the other client errors it raises, 413 and 415, are above).
    (error) => asHttp(error).expose === true && asHttp(error).status === 400,
    (error: HttpLikeError) => ({ type: 'malformed-request', detail: `${error.message}.` }),
  ],
];

const unexpected: Mapped = { type: 'internal-error', detail: 'Something went wrong on our side; it has been logged.' };

export type ProblemResponse = {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Problem;
};

/** `instance` is the request path; absent when the request could not be parsed far enough to have one. */
/**
 * `instance` is the request path; absent when the request could not be parsed far enough to have
 * one. `valueAt` reads what the request sent at a field path, so a field error can say which rule
 * the value broke.
 */
export function problemFor(error: unknown, instance: string | undefined, log: Logger, valueAt: ValueAt = () => undefined): ProblemResponse {
  const row = problemTable.find(([matches]) => matches(error));
  const mapped = row ? row[1](error as never, valueAt) : unexpected;
  const { status, title } = problemTypes[mapped.type];
  if (status >= 500) {
    log.error({ err: error, instance }, mapped === unexpected ? 'unexpected error' : 'service unavailable');
  }
  return {
    status,
    headers: mapped.headers ?? {},
    body: {
      type: problemTypeUri(mapped.type),
      title,
      status,
      detail: mapped.detail,
      ...(instance === undefined ? {} : { instance }),
      ...(mapped.errors ? { errors: [...mapped.errors] } : {}),
    },
  };
}
