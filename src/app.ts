// The HTTP pipeline, in order: helmet → JSON body (size-limited) → the contract (routing, auth,
// request validation, response validation) → the handler for the operationId → problem+json for
// any error. Routing comes from the contract: there are no hand-written routes.
import express, { type NextFunction, type Request, type Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { authFailureOf, bearerSecurityHandler, callerOf, type Authenticate } from './auth.ts';
import { contractPath, type HandlerContext, type OperationId, type ResponseHeaders } from './contract.ts';
import { handlers } from './handlers.ts';
import { ProblemError, problemFor } from './problems.ts';
import type { RateLimits, TrustProxy } from './config.ts';
import { corsFor } from './cors.ts';
import { rateLimiters, refuseLongUrls } from './limits.ts';
import { createMetrics } from './metrics.ts';
import { requestIdOf, trackRequests } from './request-log.ts';

export type AppOptions = {
  readonly context: HandlerContext;
  readonly authenticate: Authenticate;
  readonly log: Logger;
  readonly bodyLimitBytes: number;
  readonly validateResponses: boolean;
  // Operating the service (request ids and logs are always on; each absent setting below is off).
  /** GET /metrics, for a request that presents this bearer token. */
  readonly metricsToken?: string;
  readonly rateLimits?: RateLimits;
  readonly trustProxy?: TrustProxy;
  /** Longer request targets get 414; default 8 KiB. */
  readonly urlLimitBytes?: number;
  readonly corsOrigins?: readonly string[];
};

type ContractRequest = Request & {
  openapi?: { schema: { operationId: OperationId }; pathParams: Record<string, string> };
};

// The map is checked per operation in handlers.ts; here one shape fits them all.
type AnyHandler = (
  input: unknown,
  context: HandlerContext,
) => Promise<{ status: number; body?: unknown; contentType?: string; headers?: ResponseHeaders }>;

const methodsWithBody = new Set(['POST', 'PUT', 'PATCH']);

/** What every request meets first, in the API and in a WORKER=only process alike. */
function operatedApp(options: WorkerAppOptions & Pick<AppOptions, 'corsOrigins'>): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Query strings are parsed flat (`?a[b]=1` stays a literal key): the contract has no nested params.
  app.set('query parser', 'simple');
  if (options.trustProxy !== undefined) app.set('trust proxy', options.trustProxy);

  // First, so that every response (a preflight, a 414, a 429, /metrics) has an id, a log line and a
  // place in the metrics.
  const metrics = options.metricsToken ? createMetrics({ token: options.metricsToken, pool: options.context.db }) : undefined;
  app.use(trackRequests(options.log, metrics?.observer));
  if (metrics) app.get('/metrics', metrics.handler);
  app.use(helmet());
  // Before everything that can refuse a request, so a browser script can read the refusal.
  if (options.corsOrigins && options.corsOrigins.length > 0) app.use(corsFor(options.corsOrigins));
  app.use(refuseLongUrls(options.urlLimitBytes ?? 8_192));
  return app;
}

export function createApp(options: AppOptions): express.Express {
  const app = operatedApp(options);

  // Not `strict`: a body such as `null` or `5` is parseable JSON that breaks the schema, so it gets
  // the validator's 422 ("must be object"), not a 400 claiming it is not JSON.
  const parseJson = express.json({ limit: options.bodyLimitBytes, strict: false });
  // Bodies are read only where the contract can have one; a GET with a body is not parsed.
  app.use((request, response, next) => {
    if (!methodsWithBody.has(request.method)) return next();
    // A zero-length body is no body (RFC 9110), whatever Content-Type a fetch wrapper put on it:
    // `PATCH …/complete` with `Content-Type: application/json` and nothing else must toggle.
    if (request.headers['content-length'] === '0') {
      delete request.headers['content-type'];
      return next();
    }
    return parseJson(request, response, next);
  });

  app.use(
    OpenApiValidator.middleware({
      apiSpec: contractPath,
      validateRequests: { allErrors: true },
      validateResponses: options.validateResponses ? { allErrors: true } : false,
      validateSecurity: { handlers: { bearerAuth: bearerSecurityHandler(options.authenticate) } },
      ignoreUndocumented: false,
    }),
  );

  // After the contract has routed and authenticated the request: limits per verified user, or per address.
  const limiters = options.rateLimits ? rateLimiters(options.rateLimits, options.log) : [];
  if (limiters.length > 0) app.use(limiters);

  app.use(async (request: ContractRequest, response: Response) => {
    const operationId = request.openapi!.schema.operationId;
    const handler = handlers[operationId] as AnyHandler;
    const result = await handler(
      {
        params: request.openapi!.pathParams,
        query: request.query,
        body: request.body,
        headers: request.headers,
        requestPath: request.path,
        ownerUserId: callerOf(request)?.userId,
      },
      options.context,
    );
    response.status(result.status).set(result.headers ?? {});
    if (result.body === undefined) response.end();
    else if (result.contentType) response.type(result.contentType).send(result.body);
    else response.json(result.body);
  });

  app.use(answerWithProblem(options.log));

  return app;
}

/** The last middleware of both apps: any error becomes its problem+json response (src/problems.ts). */
function answerWithProblem(baseLog: Logger) {
  return (error: unknown, request: Request, response: Response, next: NextFunction) => {
    if (response.headersSent) return next(error);
    // The validator wraps what the security handler threw; the auth module kept the original.
    const cause = authFailureOf(request) ?? error;
    const requestId = requestIdOf(request);
    // The request id goes into the log line of a 5xx and into the body, so a user's report finds the stack.
    const log = requestId ? baseLog.child({ request_id: requestId }) : baseLog;
    const problem = problemFor(cause, request.path, log, (path) => valueAt({ body: request.body, query: request.query }, path));
    response
      .status(problem.status)
      .set(problem.headers)
      .type('application/problem+json')
      .json(requestId ? { ...problem.body, request_id: requestId } : problem.body);
  };
}

export type WorkerAppOptions = Pick<AppOptions, 'context' | 'log' | 'metricsToken' | 'rateLimits' | 'trustProxy' | 'urlLimitBytes'>;

/**
 * What a process that only delivers (WORKER=only) serves: no API, only what operators and
 * orchestrators watch it with. `/health` and `/ready` are the API's own handlers (alive; database
 * answers and not shutting down), and `/metrics` is the API's registry under the same rule (only
 * with METRICS_TOKEN, only for a request presenting it): there it shows this process's delivery
 * counters beside the scheduler lag and outbox depth. Every request gets its id and log line, every
 * error its problem+json, and the per-address rate limit applies as on the API.
 */
export function createWorkerApp(options: WorkerAppOptions): express.Express {
  const app = operatedApp(options);
  // No token is verified here, so only the per-address limit can apply.
  if (options.rateLimits) app.use(rateLimiters(options.rateLimits, options.log));
  // The API's handlers, called as the contract would (neither has parameters nor a body).
  const answer = (operation: 'health' | 'ready') => async (request: Request, response: Response) => {
    (response.locals as { operation?: string }).operation = operation;
    const result = await handlers[operation]({ params: {}, query: {}, body: undefined, headers: {}, requestPath: request.path }, options.context);
    response.status(result.status).json(result.body);
  };
  app.get('/health', answer('health'));
  app.get('/ready', answer('ready'));
  app.use(() => {
    throw new ProblemError('path-not-found', 'There is nothing at this path: a WORKER=only process serves /health, /ready and /metrics only.');
  });
  app.use(answerWithProblem(options.log));
  return app;
}

/** What the request sent at `/body/…` or `/query/…` (a field error's path), if anything. */
function valueAt(request: { readonly body: unknown; readonly query: unknown }, path: string): unknown {
  const [location, ...segments] = path.split('/').filter(Boolean);
  if (location !== 'body' && location !== 'query') return undefined;
  let value: unknown = request[location];
  for (const segment of segments) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}
