// The one place an error becomes an HTTP response: every failure, from any layer, is mapped here
// to an RFC 9457 problem document by the first matching row of `problemTable`. Nothing internal
// (stack, SQL, driver message) ever reaches a response body; unexpected errors are logged instead.
import type { Logger } from 'pino';
import type { FieldError, Problem } from './contract.ts';
import { AuthenticationError, AuthUnavailableError, bearerChallenge, PathUserMismatchError } from './auth.ts';
import { classifyDatabaseError } from './database/errors.ts';

/** An error a handler (or the auth module) throws on purpose, already saying what to answer. */
export class ProblemError extends Error {
  override name = 'ProblemError';
  readonly status: number;
  readonly detail: string;
  readonly errors?: readonly FieldError[];
  readonly headers?: Readonly<Record<string, string>>;
  constructor(
    status: number,
    detail: string,
    extra: { readonly errors?: readonly FieldError[]; readonly headers?: Readonly<Record<string, string>> } = {},
  ) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.errors = extra.errors;
    this.headers = extra.headers;
  }
}

export const taskNotFound = () => new ProblemError(404, 'Task not found.');

// RFC 9110 reason phrases (Node's STATUS_CODES still has some pre-9110 names).
const titles: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const retryAfterSeconds = '5';

type Mapped = {
  readonly status: number;
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
  errors?: { path?: string; message?: string }[];
};

const asHttp = (error: unknown): HttpLikeError => (typeof error === 'object' && error !== null ? error : {});
const isValidatorError = (error: unknown) => Array.isArray(asHttp(error).errors);

// First match wins. The order matters: specific causes before the generic status rows.
const problemTable: ReadonlyArray<readonly [(error: unknown) => boolean, (error: never) => Mapped]> = [
  [(error) => error instanceof ProblemError, (error: ProblemError) => error],
  [
    (error) => error instanceof AuthenticationError,
    (error: AuthenticationError) => ({
      status: 401,
      detail: error.detail,
      headers: { 'WWW-Authenticate': bearerChallenge(error) },
    }),
  ],
  [
    // The validator itself refuses a request with no Authorization header, or a non-Bearer one,
    // before our security handler runs: the same answer as the auth module's "missing" case.
    (error) => isValidatorError(error) && asHttp(error).status === 401,
    () => {
      const missing = new AuthenticationError('missing', 'Send an access token: Authorization: Bearer <token>.');
      return { status: 401, detail: missing.detail, headers: { 'WWW-Authenticate': bearerChallenge(missing) } };
    },
  ],
  [
    (error) => error instanceof PathUserMismatchError,
    (error: PathUserMismatchError) => ({ status: 403, detail: error.message }),
  ],
  [
    (error) => error instanceof AuthUnavailableError,
    () => ({
      status: 503,
      detail: 'Access tokens cannot be verified right now (the token issuer is unreachable); try again shortly.',
      headers: { 'Retry-After': retryAfterSeconds },
    }),
  ],
  [
    (error) => asHttp(error).type === 'entity.parse.failed',
    () => ({ status: 400, detail: 'The request body is not valid JSON.' }),
  ],
  [
    (error) => asHttp(error).type === 'entity.too.large',
    (error: HttpLikeError) => ({ status: 413, detail: `The request body is larger than ${error.limit} bytes.` }),
  ],
  [
    // body-parser: unsupported charset or content encoding.
    (error) => asHttp(error).status === 415,
    (error: HttpLikeError) => ({
      status: 415,
      detail: isValidatorError(error)
        ? 'Send the request body as application/json.'
        : `${error.message ?? 'Unsupported media type'}.`,
    }),
  ],
  [
    (error) => isValidatorError(error) && asHttp(error).status === 400,
    (error: HttpLikeError) => ({
      status: 422,
      detail: 'The request does not match the API contract; see errors for each field.',
      errors: (error.errors ?? []).map((entry) => ({
        path: pointer(entry.path),
        message: entry.message ?? 'is not valid',
      })),
    }),
  ],
  [
    (error) => isValidatorError(error) && asHttp(error).status === 404,
    () => ({ status: 404, detail: 'There is nothing at this path.' }),
  ],
  [
    (error) => isValidatorError(error) && asHttp(error).status === 405,
    (error: HttpLikeError) => ({
      status: 405,
      detail: 'This path does not support this method.',
      headers: error.headers?.Allow ? { Allow: error.headers.Allow } : {},
    }),
  ],
  [
    // PostgreSQL text cannot hold NUL characters. The contract's patterns refuse them already;
    // this row keeps any field that slips through a client error rather than a 500.
    (error) => classifyDatabaseError(error).kind === 'untranslatable-text',
    () => ({
      status: 422,
      detail: 'Text fields cannot contain NUL (U+0000) characters.',
      errors: [{ path: '/body', message: 'must not contain U+0000' }],
    }),
  ],
  [
    (error) => classifyDatabaseError(error).kind === 'unavailable',
    () => ({
      status: 503,
      detail: 'The database is unavailable; try again shortly.',
      headers: { 'Retry-After': retryAfterSeconds },
    }),
  ],
  // Node's HTTP parser refusing a request before any of the app runs (the server's clientError).
  [
    (error) => (error as { code?: unknown }).code === 'HPE_HEADER_OVERFLOW',
    () => ({ status: 431, detail: 'The request headers are larger than this server accepts.' }),
  ],
  [
    (error) => (error as { code?: unknown }).code === 'ERR_HTTP_REQUEST_TIMEOUT',
    () => ({ status: 408, detail: 'The request did not arrive in time.' }),
  ],
  [
    (error) => String((error as { code?: unknown }).code).startsWith('HPE_'),
    () => ({ status: 400, detail: 'The request is not valid HTTP/1.1.' }),
  ],
  [
    // Any other client error a library raised knowingly (e.g. an aborted request body).
    (error) => {
      const { status, expose } = asHttp(error);
      return expose === true && status !== undefined && status >= 400 && status < 500 && status in titles;
    },
    (error: HttpLikeError) => ({ status: error.status!, detail: `${error.message}.` }),
  ],
];

const unexpected: Mapped = { status: 500, detail: 'Something went wrong on our side; it has been logged.' };

export type ProblemResponse = {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Problem;
};

/** `instance` is the request path; absent when the request could not be parsed far enough to have one. */
export function problemFor(error: unknown, instance: string | undefined, log: Logger): ProblemResponse {
  const row = problemTable.find(([matches]) => matches(error));
  const mapped = row ? row[1](error as never) : unexpected;
  if (mapped.status >= 500) {
    log.error({ err: error, instance }, mapped === unexpected ? 'unexpected error' : 'service unavailable');
  }
  return {
    status: mapped.status,
    headers: mapped.headers ?? {},
    body: {
      type: 'about:blank',
      title: titles[mapped.status] ?? 'Error',
      status: mapped.status,
      detail: mapped.detail,
      ...(instance === undefined ? {} : { instance }),
      ...(mapped.errors ? { errors: [...mapped.errors] } : {}),
    },
  };
}

// The validator reports `.body.title` or `/body/title`; clients get a JSON-pointer-like path.
function pointer(path: string | undefined): string {
  if (!path) return '/';
  return path.startsWith('/') ? path : `/${path.replace(/^\./, '').replaceAll('.', '/')}`;
}
