// The one place that decides who the caller is. A request is authenticated by a JWT in the
// `Authorization: Bearer` header, verified with jose either against Better Auth's JWKS (EdDSA and
// the other asymmetric algorithms) or with the shared HS256 secret. Algorithms are pinned per key
// type, so an HS256 token can never be checked against a public key and vice versa.
import type { Request } from 'express';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyOptions,
} from 'jose';
import type { Config, JwksVerification, SecretVerification } from './config.ts';
import { readOrCreateDevSecret } from './dev-secret.ts';
import type { ProblemSlug } from './problems.ts';

export type Caller = { readonly userId: string };

/** The problem types of a 401 from the token check (src/problems.ts lists them with the others). */
type TokenProblem = Extract<
  ProblemSlug,
  | 'token-missing'
  | 'token-malformed'
  | 'token-expired'
  | 'token-not-yet-valid'
  | 'token-issue-time-invalid'
  | 'token-expiry-missing'
  | 'token-signature-invalid'
  | 'token-key-unknown'
  | 'token-key-embedded'
  | 'token-algorithm-refused'
  | 'token-issuer-refused'
  | 'token-audience-refused'
  | 'token-subject-invalid'
  | 'token-invalid'
>;

/** A request without a usable token: answered 401 with a `WWW-Authenticate: Bearer` challenge. */
export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
  /**
   * The problem type: `token-missing` when no Bearer token was sent (RFC 6750: then the challenge
   * has no error code); otherwise why the token sent was refused.
   */
  readonly type: TokenProblem;
  readonly detail: string;
  constructor(type: AuthenticationError['type'], detail: string) {
    super(detail);
    this.type = type;
    this.detail = detail;
  }
}

/** The token could not be checked because the JWKS could not be fetched: 503, not the caller's fault. */
export class AuthUnavailableError extends Error {
  override name = 'AuthUnavailableError';
}

/** `/api/{user_id}/…` named someone other than the token's subject: 403. */
export class PathUserMismatchError extends Error {
  override name = 'PathUserMismatchError';
}

export function bearerChallenge(error: AuthenticationError): string {
  const realm = 'realm="tasks-api"';
  if (error.type === 'token-missing') return `Bearer ${realm}`;
  // RFC 6750 §3: error_description is printable ASCII without `"` or `\`. The detail can quote the
  // token itself (its alg), and a line break or non-Latin-1 character there would make Node refuse
  // the header (an HTML error page instead of the 401), so anything outside that set becomes `?`.
  const description = error.detail.replaceAll('"', "'").replaceAll(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/gu, '?');
  return `Bearer ${realm}, error="invalid_token", error_description="${description}"`;
}

// Better Auth's jwt plugin signs with EdDSA (Ed25519) by default; these are its other options
// (plus ES384/RS384/RS512/PS384/PS512, equally safe from a JWKS).
const asymmetricAlgorithms = ['EdDSA', 'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];

const clockToleranceSeconds = 30;

/** The longest `sub` accepted: the length limit of tasks.owner_user_id and of the contract's UserId. */
const maxUserIdLength = 255;

// Headers that tell a verifier where to find the key. Honouring any of them lets the token's
// author pick the key that verifies it, so their mere presence refuses the token.
const keyLocatingHeaders = ['jwk', 'jku', 'x5u', 'x5c'] as const;

export type AuthOptions = {
  readonly jwks?: JwksVerification;
  readonly secret?: SecretVerification;
  /** How long a fetched JWKS is trusted before it is fetched again (revoked keys stop working then). */
  readonly jwksCacheMaxAgeMs?: number;
  /** Minimum time between refetches triggered by an unknown `kid`. */
  readonly jwksCooldownMs?: number;
  readonly jwksTimeoutMs?: number;
  /** How many verified tokens are remembered (least recently used first out); 0 turns the cache off. */
  readonly verifiedTokenCacheSize?: number;
};

/** What the server verifies with, from its configuration; the development secret is read or created here. */
export async function authOptionsFor(config: Config): Promise<AuthOptions> {
  if (config.auth.mode === 'configured') return { jwks: config.auth.jwks, secret: config.auth.secret };
  const secret = await readOrCreateDevSecret(config.dataDirectory);
  return { secret: { secret, issuer: config.auth.issuer, audience: config.auth.audience } };
}

export type Authenticate = (authorizationHeader: string | undefined) => Promise<Caller>;

export function createAuthenticator(options: AuthOptions): Authenticate {
  const jwks = options.jwks
    ? {
        keySet: createRemoteJWKSet(options.jwks.jwksUrl, {
          cacheMaxAge: options.jwksCacheMaxAgeMs ?? 5 * 60_000,
          cooldownDuration: options.jwksCooldownMs ?? 30_000,
          timeoutDuration: options.jwksTimeoutMs ?? 5_000,
        }),
        verifyOptions: verifyOptions(asymmetricAlgorithms, options.jwks),
      }
    : undefined;
  const secret = options.secret
    ? {
        key: new TextEncoder().encode(options.secret.secret),
        verifyOptions: verifyOptions(['HS256'], options.secret),
      }
    : undefined;

  const verified = new VerifiedTokens(options.verifiedTokenCacheSize ?? 10_000);

  return async (authorizationHeader) => {
    const token = bearerToken(authorizationHeader);
    const remembered = verified.get(token);
    if (remembered) {
      if (!remembered.jwksKey) return remembered.caller;
      // A JWKS token stays accepted only while the key set still gives the very key that verified
      // it: the lookup refetches the set exactly when a verification would (cache age, unknown kid),
      // so a key removed from the JWKS revokes its remembered tokens at the same moment as the others.
      let key: unknown;
      try {
        key = await jwks!.keySet(remembered.header);
      } catch (error) {
        // An unreachable key set answers as a verification would (503) without a second fetch
        // attempt; which key matches (none, or several for a token without `kid`) is left to the
        // full verification below, which tries every candidate.
        const keyQuestion = error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys;
        if (!keyQuestion) {
          verified.delete(token);
          throw translateVerificationError(error);
        }
      }
      if (key !== undefined && key === remembered.jwksKey) return remembered.caller;
      verified.delete(token);
    }
    const header = protectedHeader(token);
    if (keyLocatingHeaders.some((name) => name in header)) {
      throw invalid('token-key-embedded', 'The access token names its own key (jwk, jku, x5u or x5c header); such tokens are not accepted.');
    }
    let payload: JWTPayload;
    let jwksKey: unknown;
    try {
      if (header.alg === 'HS256' && secret) {
        ({ payload } = await jwtVerify(token, secret.key, secret.verifyOptions));
      } else if (typeof header.alg === 'string' && asymmetricAlgorithms.includes(header.alg) && jwks) {
        ({ payload, key: jwksKey } = await jwtVerify(token, jwks.keySet, jwks.verifyOptions));
      } else {
        throw invalid('token-algorithm-refused', `The access token's algorithm (${String(header.alg)}) is not accepted by this server.`);
      }
    } catch (error) {
      throw translateVerificationError(error);
    }
    if (typeof payload.sub !== 'string' || payload.sub.trim() === '') {
      throw invalid('token-subject-invalid', 'The access token has no subject (sub claim).');
    }
    // The subject becomes tasks.owner_user_id (text, 1–255 characters, and PostgreSQL text cannot
    // hold NUL): refuse what could not be stored here, instead of failing later in SQL.
    if ([...payload.sub].length > maxUserIdLength || payload.sub.includes('\u0000')) {
      throw invalid('token-subject-invalid', `The access token's subject (sub claim) is not a usable user id: at most ${maxUserIdLength} characters, no NUL.`);
    }
    // jose only checks `iat` when a maximum token age is set; a token issued in the future is a forgery or a broken clock.
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + clockToleranceSeconds) {
      throw invalid('token-issue-time-invalid', 'The access token was issued in the future (iat claim).');
    }
    const caller = { userId: payload.sub };
    // `exp` is required, so every verified token has one.
    verified.set(token, { caller, header, jwksKey, expiresAtMs: payload.exp! * 1000 });
    return caller;
  };
}

type VerifiedToken = {
  readonly caller: Caller;
  readonly header: ReturnType<typeof decodeProtectedHeader>;
  /** The JWKS key that verified it; undefined for HS256 (the secret cannot change while the process runs). */
  readonly jwksKey: unknown;
  readonly expiresAtMs: number;
};

/**
 * Tokens already verified, keyed by the raw token string, so a client's next requests with the
 * same token skip the signature check (for EdDSA, most of the CPU of a request). Bounded (least
 * recently used first out) and never past the token's own `exp` (without the clock tolerance: a
 * token in its tolerance window is verified again in full). Everything the token says was checked
 * when it was verified and cannot change; what can change is the key set, see the JWKS lookup above.
 */
class VerifiedTokens {
  readonly #entries = new Map<string, VerifiedToken>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get(token: string): VerifiedToken | undefined {
    const entry = this.#entries.get(token);
    if (!entry) return undefined;
    this.#entries.delete(token);
    if (Date.now() >= entry.expiresAtMs) return undefined;
    this.#entries.set(token, entry); // most recently used last
    return entry;
  }

  set(token: string, entry: VerifiedToken): void {
    if (this.#maxEntries === 0) return;
    this.#entries.delete(token);
    this.#entries.set(token, entry);
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }

  delete(token: string): void {
    this.#entries.delete(token);
  }
}

function verifyOptions(algorithms: string[], claims: { issuer?: string; audience?: string }): JWTVerifyOptions {
  return {
    algorithms,
    issuer: claims.issuer,
    audience: claims.audience,
    requiredClaims: ['exp', 'sub'],
    clockTolerance: clockToleranceSeconds,
  };
}

function invalid(type: Exclude<TokenProblem, 'token-missing'>, detail: string) {
  return new AuthenticationError(type, detail);
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 7235); undefined for any other header. */
export const bearerTokenOf = (header: string | undefined): string | undefined => /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];

function bearerToken(header: string | undefined): string {
  if (header === undefined || header.trim() === '') {
    throw new AuthenticationError('token-missing', 'Send an access token: Authorization: Bearer <token>.');
  }
  const token = bearerTokenOf(header);
  if (token === undefined) {
    throw new AuthenticationError('token-missing', 'The Authorization header must use the Bearer scheme: Bearer <token>.');
  }
  return token;
}

function protectedHeader(token: string) {
  try {
    return decodeProtectedHeader(token);
  } catch {
    throw invalid('token-malformed', 'The access token is not a well-formed JWT.');
  }
}

const claimProblems: Readonly<Record<string, readonly [Exclude<TokenProblem, 'token-missing'>, string]>> = {
  iss: ['token-issuer-refused', 'The access token was issued by someone this server does not trust (iss claim).'],
  aud: ['token-audience-refused', 'The access token is meant for another audience (aud claim).'],
  nbf: ['token-not-yet-valid', 'The access token is not valid yet (nbf claim).'],
  iat: ['token-issue-time-invalid', 'The access token has an invalid issue time (iat claim).'],
  exp: ['token-expiry-missing', 'The access token has no valid expiry (exp claim).'],
  sub: ['token-subject-invalid', 'The access token has no subject (sub claim).'],
};

function translateVerificationError(error: unknown): Error {
  if (error instanceof AuthenticationError) return error;
  if (error instanceof joseErrors.JWTExpired) return invalid('token-expired', 'The access token has expired.');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const [type, detail] = claimProblems[error.claim] ?? ['token-invalid', `The access token's ${error.claim} claim is not valid.`];
    return invalid(type, detail);
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) {
    return invalid('token-key-unknown', 'The access token was signed with a key this server does not know.');
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return invalid('token-signature-invalid', 'The access token signature is not valid.');
  }
  // jose reports an unreachable, non-200 or unparseable JWKS endpoint as JWKSTimeout, JWKSInvalid
  // or a generic JOSEError.
  const jwksUnreachable =
    error instanceof joseErrors.JWKSTimeout ||
    error instanceof joseErrors.JWKSInvalid ||
    (error instanceof joseErrors.JOSEError && error.code === 'ERR_JOSE_GENERIC');
  if (jwksUnreachable) {
    return new AuthUnavailableError('The JWKS could not be fetched.', { cause: error });
  }
  if (error instanceof joseErrors.JOSEError) return invalid('token-invalid', 'The access token is not valid.');
  // fetch() failures (connection refused, DNS, a non-2xx JWKS response) reach us as plain errors.
  return new AuthUnavailableError('The JWKS could not be fetched.', { cause: error });
}

// Express requests carry the outcome of authentication from the validator's security step (which
// runs before body validation, so an anonymous caller never learns about the schema) to the
// dispatcher and the error handler.
const callers = new WeakMap<Request, Caller>();
const failures = new WeakMap<Request, Error>();

export const callerOf = (request: Request): Caller | undefined => callers.get(request);
export const authFailureOf = (request: Request): Error | undefined => failures.get(request);

/** express-openapi-validator security handler for the contract's `bearerAuth` scheme. */
export function bearerSecurityHandler(authenticate: Authenticate) {
  return async (request: Request): Promise<true> => {
    try {
      const caller = await authenticate(request.headers.authorization);
      const pathUserId = (request as { openapi?: { pathParams?: Record<string, string> } }).openapi?.pathParams?.user_id;
      if (pathUserId !== undefined && pathUserId !== caller.userId) {
        throw new PathUserMismatchError('The user id in the path does not match the access token.');
      }
      callers.set(request, caller);
      return true;
    } catch (error) {
      failures.set(request, error as Error);
      throw error;
    }
  };
}
