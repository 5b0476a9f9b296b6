// Request limits that are decided per request, before a handler runs: the URL length (414) and
// the rate limits (429). The body size (413) is the JSON parser's limit in app.ts; the header size
// (431) is the HTTP server's. Every refusal is a problem+json from src/problems.ts.
//
// Rate limits (express-rate-limit, fixed windows in process memory): a request with a verified
// token counts against its subject (`RATE_LIMIT_PER_USER`), every other request against its client
// address (`RATE_LIMIT_PER_IP`: health, readiness). They run after the contract has routed and
// authenticated the request, so the user key is the token's verified subject, never a claim the
// client could vary. The counters live in this process: N instances allow up to N times the limit,
// and a restart forgets them; a shared store would cost a round trip per request.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Logger } from 'pino';
import { callerOf } from './auth.ts';
import type { RateLimits } from './config.ts';
import { ProblemError } from './problems.ts';

export function refuseLongUrls(limitBytes: number): RequestHandler {
  return (request: Request, _response: Response, next: NextFunction) => {
    // The request target as sent (percent-encoded, so its length is its size in bytes).
    if (request.originalUrl.length > limitBytes) {
      return next(new ProblemError('uri-too-long', `The URL is longer than ${limitBytes} bytes.`));
    }
    return next();
  };
}

export function rateLimiters(limits: RateLimits, log: Logger): RequestHandler[] {
  const windowSeconds = Math.ceil(limits.windowMs / 1000);
  const common = {
    windowMs: limits.windowMs,
    // IETF draft-ietf-httpapi-ratelimit-headers-08 and later: `RateLimit: "per-user"; r=…; t=…`
    // and `RateLimit-Policy: "per-user"; q=…; w=…`, plus `Retry-After` on 429. No X-RateLimit-*.
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // Its configuration checks report through our log instead of the console.
    logger: log,
  } as const;
  const limiters: RequestHandler[] = [];
  if (limits.perUser > 0) {
    limiters.push(
      rateLimit({
        ...common,
        limit: limits.perUser,
        identifier: 'per-user',
        skip: (request) => callerOf(request) === undefined,
        keyGenerator: (request) => callerOf(request)!.userId,
        handler: (_request, _response, next) =>
          next(new ProblemError('rate-limited', `Too many requests for this user: at most ${limits.perUser} every ${windowSeconds} s.`)),
      }),
    );
  }
  if (limits.perIp > 0) {
    limiters.push(
      rateLimit({
        ...common,
        limit: limits.perIp,
        identifier: 'per-ip',
        skip: (request) => callerOf(request) !== undefined,
        // IPv6 clients are grouped by /56 (what one subscriber usually gets), so a client cannot
        // escape its limit by rotating addresses within its own prefix.
        keyGenerator: (request) => ipKeyGenerator(request.ip ?? request.socket.remoteAddress ?? 'unknown'),
        handler: (_request, _response, next) =>
          next(new ProblemError('rate-limited', `Too many requests from this address: at most ${limits.perIp} every ${windowSeconds} s.`)),
      }),
    );
  }
  return limiters;
}
