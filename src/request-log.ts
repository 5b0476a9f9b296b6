// Every request gets an id and exactly one log line. The id is the caller's `X-Request-Id` when it
// is a sane token (so a frontend or a load balancer can follow one request through its own logs and
// ours), otherwise a fresh UUID; it is echoed in the `X-Request-Id` response header and in problem
// bodies. The log line is written when the response has been sent (or the connection closed before
// that), and names only chosen fields: no header, no body, no query string is ever logged, so a
// token cannot reach the log through this line.
//
// A small middleware rather than pino-http: pino-http serialises the whole request and response
// (headers included, so credentials must be redacted after the fact) and creates a child logger
// per request; this line costs one object and one asynchronous write.
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { callerOf } from './auth.ts';

/** Letters, digits and `-_.:/+=@`, 1 to 128 of them; anything else is replaced by a new id. */
const saneRequestId = /^[\w.:/+=@-]{1,128}$/;

/** Client closed the connection before the response was complete (nginx's convention). */
export const abortedStatus = 499;

const requestIds = new WeakMap<Request, string>();

export const requestIdOf = (request: Request): string | undefined => requestIds.get(request);

/** What the log line and the request metrics call the operation: the operationId, or a fixed word. */
export function operationOf(request: Request, response: Response): string {
  const named = (response.locals as { operation?: string }).operation;
  if (named) return named;
  const operationId = (request as { openapi?: { schema?: { operationId?: string } } }).openapi?.schema?.operationId;
  if (operationId) return operationId;
  // Answered by the CORS middleware before any route was looked up.
  if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) return 'preflight';
  // Unknown paths and methods, and requests refused before routing (URL too long): one label value,
  // so that arbitrary paths cannot grow the metrics without bound.
  return 'unmatched';
}

export type RequestObserver = {
  readonly started: () => void;
  readonly finished: (operation: string, status: number, seconds: number) => void;
};

export function trackRequests(log: Logger, observer: RequestObserver | undefined): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    const startedAt = performance.now();
    const incoming = request.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && saneRequestId.test(incoming) ? incoming : randomUUID();
    requestIds.set(request, requestId);
    response.setHeader('X-Request-Id', requestId);
    observer?.started();

    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const aborted = !response.writableFinished;
      const status = aborted ? abortedStatus : response.statusCode;
      const durationMs = performance.now() - startedAt;
      const operation = operationOf(request, response);
      observer?.finished(operation, status, durationMs / 1000);
      log.info(
        {
          request_id: requestId,
          method: request.method,
          operation,
          path: request.path.length > 256 ? `${request.path.slice(0, 256)}…` : request.path,
          status,
          duration_ms: Math.round(durationMs * 100) / 100,
          user_id: callerOf(request)?.userId,
          ...(aborted ? { aborted: true } : {}),
        },
        aborted ? 'request aborted' : 'request completed',
      );
    };
    response.once('finish', finish);
    response.once('close', finish);
    next();
  };
}
