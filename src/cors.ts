// CORS for browser frontends on other origins (the `cors` package). Only the exact origins in
// CORS_ORIGINS get CORS headers; any other origin (or none: same-origin, curl, servers) gets none,
// so its browser refuses to hand the response to its script. Preflights are answered here, before
// rate limits, authentication and the contract's 405 for OPTIONS.
//
// No credentials: the API reads a bearer token from the Authorization header, never a cookie, so
// `Access-Control-Allow-Credentials` is not sent and a browser never attaches cookies for us.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import cors from 'cors';

const allowedMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const allowedHeaders = ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'Idempotency-Key', 'X-Request-Id'];
// What a script may read from a response (beyond the CORS-safelisted ones such as Content-Type).
const exposedHeaders = ['Location', 'ETag', 'Link', 'Retry-After', 'X-Request-Id', 'RateLimit', 'RateLimit-Policy', 'WWW-Authenticate'];
/** How long a browser may reuse a preflight answer (Chromium caps it at 2 hours). */
export const preflightMaxAgeSeconds = 600;

export function corsFor(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  const answer = cors({
    // A callback answering false makes the package step aside entirely: no CORS header at all.
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: allowedMethods,
    allowedHeaders,
    exposedHeaders,
    credentials: false,
    maxAge: preflightMaxAgeSeconds,
    optionsSuccessStatus: 204,
  });
  return (request: Request, response: Response, next: NextFunction) => {
    // Responses differ by Origin whether or not it is allowed: tell caches, for every response.
    response.vary('Origin');
    answer(request, response, next);
  };
}
