// The one module that reads process.env. Everything is validated at start so a bad setting stops
// the process with a message naming the variable, instead of surfacing as a strange 500 later.
import { createECDH, createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const optionalUrl = optionalText.pipe(z.url({ protocol: /^https?$/ }).optional());

const booleanFlag = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1')
  .optional();

const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  DATABASE_URL: optionalText.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(10),
  DATABASE_WAIT_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  DATA_DIR: z.string().trim().min(1).default('.data'),
  BETTER_AUTH_URL: optionalUrl,
  JWT_JWKS_URL: optionalUrl,
  JWT_ISSUER: optionalText,
  JWT_AUDIENCE: optionalText,
  BETTER_AUTH_SECRET: optionalText.pipe(
    z
      .string()
      .min(32, 'must be at least 32 characters (Better Auth refuses shorter secrets too)')
      .optional(),
  ),
  VALIDATE_RESPONSES: booleanFlag,
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(65_536),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  // --- Operating the service: logs, metrics, limits, CORS ---
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  METRICS_TOKEN: optionalText.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  RATE_LIMIT_PER_USER: z.coerce.number().int().min(0).max(1_000_000).default(600),
  RATE_LIMIT_PER_IP: z.coerce.number().int().min(0).max(1_000_000).default(600),
  TRUST_PROXY: optionalText.pipe(
    z
      .string()
      .refine(isTrustProxySetting, 'must be false, a number of proxy hops, or a comma-separated list of proxy IP addresses/subnets (loopback, linklocal, uniquelocal allowed); never true')
      .optional(),
  ),
  URL_LIMIT_BYTES: z.coerce.number().int().min(256).max(65_536).default(8_192),
  CORS_ORIGINS: optionalText.pipe(
    z
      .string()
      .refine(
        (value) => value.split(',').every((entry) => isExactOrigin(entry.trim())),
        'must be a comma-separated list of exact origins such as https://app.example.com (scheme, host and port only)',
      )
      .optional(),
  ),
  WEB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  DATABASE_PREPARED_STATEMENTS: booleanFlag,
  DATABASE_MIGRATION_URL: optionalText.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  MIGRATE_ON_START: booleanFlag,
  SHUTDOWN_DRAIN_SECONDS: z.coerce.number().min(0).max(300).default(0),
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0.1).max(600).default(20),
  HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: z.coerce.number().min(1).max(3600).default(65),
  HTTP_HEADERS_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(3600).default(20),
  HTTP_REQUEST_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(3600).default(30),
  HTTP_MAX_HEADER_BYTES: z.coerce.number().int().min(1024).max(1_048_576).default(16_384),
  // --- Reminders and their delivery (issue 14) ---
  WORKER: z.enum(['on', 'off', 'only']).default('on'),
  SCHEDULER_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
  DELIVERY_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(10),
  DELIVERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  DELIVERY_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(30_000),
  DELIVERY_GIVE_UP_SECONDS: z.coerce.number().min(1).max(7 * 86_400).default(86_400),
  OUTBOUND_ALLOW_LOOPBACK: booleanFlag,
  WEBHOOK_DISABLE_AFTER_SECONDS: z.coerce.number().min(1).max(30 * 86_400).default(86_400),
  // Checked in pushConfig, which says in one line what is wrong with them.
  PUSH: z.enum(['on', 'off']).optional(),
  VAPID_PUBLIC_KEY: optionalText,
  VAPID_PRIVATE_KEY: optionalText,
  VAPID_SUBJECT: optionalText,
}).refine((env) => env.HTTP_HEADERS_TIMEOUT_SECONDS <= env.HTTP_REQUEST_TIMEOUT_SECONDS, {
  // Node refuses a server whose header deadline is later than its whole-request deadline.
  message: 'must not exceed HTTP_REQUEST_TIMEOUT_SECONDS',
  path: ['HTTP_HEADERS_TIMEOUT_SECONDS'],
});

// An origin as browsers send it: scheme://host[:port], no path, no trailing slash, no wildcard.
function isExactOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

const namedProxyRanges = new Set(['loopback', 'linklocal', 'uniquelocal']);

// Express's `trust proxy`: `true` (trust every hop) would let any client choose its own IP with
// X-Forwarded-For and so escape the per-IP limit; it is refused.
function isTrustProxySetting(value: string): boolean {
  if (value === 'false' || /^\d{1,2}$/.test(value)) return true;
  return value.split(',').every((entry) => {
    const trimmed = entry.trim();
    if (namedProxyRanges.has(trimmed)) return true;
    const [address, prefix, ...rest] = trimmed.split('/');
    if (rest.length > 0 || isIP(address ?? '') === 0) return false;
    return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (isIP(address!) === 4 ? 32 : 128));
  });
}

export type Environment = 'development' | 'test' | 'production';

export type JwksVerification = {
  readonly jwksUrl: URL;
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
};

export type SecretVerification = {
  readonly secret: string;
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
};

export type AuthConfig =
  // Better Auth's JWKS, a shared HS256 secret, or both.
  | { readonly mode: 'configured'; readonly jwks?: JwksVerification; readonly secret?: SecretVerification }
  // Nothing configured outside production: a local HS256 secret is created under DATA_DIR.
  | { readonly mode: 'development-secret'; readonly issuer: string | undefined; readonly audience: string | undefined };

export type Config = {
  readonly environment: Environment;
  readonly host: string;
  readonly port: number;
  /** Absent: an embedded PostgreSQL is started under `dataDirectory`. */
  readonly databaseUrl: string | undefined;
  readonly databasePoolMax: number;
  /** How long start-up keeps retrying an unreachable database before exiting non-zero. */
  readonly databaseWaitSeconds: number;
  readonly dataDirectory: string;
  readonly auth: AuthConfig;
  readonly validateResponses: boolean;
  readonly bodyLimitBytes: number;
  readonly logLevel: string;
  readonly logFormat: LogFormat;
  /** Absent: GET /metrics does not exist (404). */
  readonly metricsToken: string | undefined;
  readonly rateLimits: RateLimits;
  /** Express's `trust proxy` setting: who may tell us the client's address in X-Forwarded-For. */
  readonly trustProxy: TrustProxy;
  readonly urlLimitBytes: number;
  /** Exact origins allowed to call the API from a browser; empty: no CORS headers at all. */
  readonly corsOrigins: readonly string[];
  /** Named prepared statements; off only for a connection pooler that cannot keep them. */
  readonly databasePreparedStatements: boolean;
  /** Server processes (node:cluster workers) on this machine; 1 serves from the main process. */
  readonly webConcurrency: number;
  /**
   * Where migrations run, when not on `databaseUrl`: behind a transaction-mode pooler (Neon's
   * `-pooler` host, PgBouncer) the migration lock, a session advisory lock, needs a direct connection.
   */
  readonly databaseMigrationUrl: string | undefined;
  /** Off when migrations run as a separate release step (`make migrate`) before instances roll out. */
  readonly migrateOnStart: boolean;
  readonly shutdown: ShutdownConfig;
  readonly http: HttpServerConfig;
  readonly delivery: DeliveryConfig;
};

export type DeliveryConfig = {
  /**
   * Where reminders are fired and deliveries made: `on` in every API process (the default), `off`
   * in none of them (a separate `WORKER=only` process does it), `only`: this process does nothing
   * else (no API; on HOST and PORT it serves /health, /ready and /metrics only).
   */
  readonly worker: 'on' | 'off' | 'only';
  /** How often the worker looks for due reminders and deliveries when it last found none. */
  readonly pollMs: number;
  /** Deliveries in flight at once per process. */
  readonly concurrency: number;
  /** The whole of one outbound call. */
  readonly timeoutMs: number;
  /** The first retry waits about this long; each next one twice as long (with jitter). */
  readonly retryBaseMs: number;
  /** A delivery still failing this long after it was written is given up. */
  readonly giveUpMs: number;
  /** Development and tests only: outbound calls may go to loopback (and plain http there). */
  readonly allowLoopback: boolean;
  /** A webhook whose every delivery has failed this long is disabled. */
  readonly webhookDisableAfterMs: number;
  readonly push: PushConfig;
};

export type PushConfig =
  | { readonly mode: 'configured'; readonly publicKey: string; readonly privateKey: string; readonly subject: string }
  // Nothing configured outside production: a key pair is created under DATA_DIR (src/dev-secret.ts).
  | { readonly mode: 'development-keys'; readonly subject: string }
  // PUSH=off: no Web Push (the push operations answer 404 push-not-configured).
  | { readonly mode: 'off' };

export type ShutdownConfig = {
  /** After SIGTERM, keep serving (with /ready 503) this long so a load balancer can stop routing here. */
  readonly drainMs: number;
  /** Then, with the listener closed, how long in-flight requests may take before their connections are cut. */
  readonly graceMs: number;
};

export type HttpServerConfig = {
  readonly keepAliveTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxHeaderBytes: number;
};

export type LogFormat = 'auto' | 'json' | 'pretty';

export type RateLimits = {
  readonly windowMs: number;
  /** Requests per window per verified token subject; 0: no limit. */
  readonly perUser: number;
  /** Requests per window per client address on the routes without a token; 0: no limit. */
  readonly perIp: number;
};

export type TrustProxy = false | number | string;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type ConfigPurpose =
  /** The API server: every setting. */
  | 'serve'
  /** The migration step (scripts/migrate.ts): only where the database is; no token verification. */
  | 'migrate'
  /** `make token` (scripts/token.ts): the token settings; no Web Push. */
  | 'token';

export function loadConfig(environment: NodeJS.ProcessEnv = process.env, options: { readonly purpose?: ConfigPurpose } = {}): Config {
  const parsed = environmentSchema.safeParse(environment);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  const env = parsed.data;
  const purpose = options.purpose ?? 'serve';
  const auth = purpose === 'migrate' ? notNeededForMigrations : authConfig(env);
  // An embedded database in production would live in the image or on an instance's disk, and go
  // with it: refuse, naming the setting, instead of trying to create DATA_DIR in a read-only image.
  if (env.NODE_ENV === 'production' && !env.DATABASE_URL && !(purpose === 'migrate' && env.DATABASE_MIGRATION_URL)) {
    throw new ConfigError(
      purpose === 'migrate'
        ? 'DATABASE_URL (or DATABASE_MIGRATION_URL) is not set: in production, migrations need the URL of the database to migrate.'
        : 'DATABASE_URL is not set: in production the API needs a PostgreSQL URL (the embedded database is for development only).',
    );
  }
  return {
    environment: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    databaseUrl: env.DATABASE_URL,
    databasePoolMax: env.DATABASE_POOL_MAX,
    databaseWaitSeconds: env.DATABASE_WAIT_SECONDS,
    dataDirectory: path.resolve(env.DATA_DIR),
    auth,
    // Response validation catches contract drift; it costs CPU per response, so production opts in.
    validateResponses: env.VALIDATE_RESPONSES ?? env.NODE_ENV !== 'production',
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    logLevel: env.LOG_LEVEL ?? (env.NODE_ENV === 'test' ? 'silent' : 'info'),
    logFormat: env.LOG_FORMAT,
    metricsToken: env.METRICS_TOKEN,
    rateLimits: {
      windowMs: env.RATE_LIMIT_WINDOW_SECONDS * 1000,
      perUser: env.RATE_LIMIT_PER_USER,
      perIp: env.RATE_LIMIT_PER_IP,
    },
    trustProxy: trustProxySetting(env.TRUST_PROXY),
    urlLimitBytes: env.URL_LIMIT_BYTES,
    corsOrigins: env.CORS_ORIGINS ? env.CORS_ORIGINS.split(',').map((origin) => origin.trim()) : [],
    webConcurrency: env.WEB_CONCURRENCY,
    databasePreparedStatements: env.DATABASE_PREPARED_STATEMENTS ?? true,
    databaseMigrationUrl: env.DATABASE_MIGRATION_URL,
    migrateOnStart: env.MIGRATE_ON_START ?? true,
    shutdown: { drainMs: env.SHUTDOWN_DRAIN_SECONDS * 1000, graceMs: env.SHUTDOWN_GRACE_SECONDS * 1000 },
    http: {
      keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
      headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_SECONDS * 1000,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
      maxHeaderBytes: env.HTTP_MAX_HEADER_BYTES,
    },
    delivery: {
      worker: env.WORKER,
      pollMs: env.SCHEDULER_POLL_MS,
      concurrency: env.DELIVERY_CONCURRENCY,
      timeoutMs: env.DELIVERY_TIMEOUT_MS,
      retryBaseMs: env.DELIVERY_RETRY_BASE_MS,
      giveUpMs: env.DELIVERY_GIVE_UP_SECONDS * 1000,
      allowLoopback: purpose === 'migrate' ? false : allowLoopback(env),
      webhookDisableAfterMs: env.WEBHOOK_DISABLE_AFTER_SECONDS * 1000,
      // Only the server pushes.
      push: purpose === 'serve' ? pushConfig(env) : { mode: 'off' },
    },
  };
}

function allowLoopback(env: z.infer<typeof environmentSchema>): boolean {
  if (env.OUTBOUND_ALLOW_LOOPBACK && env.NODE_ENV === 'production') {
    throw new ConfigError(
      'OUTBOUND_ALLOW_LOOPBACK lets push endpoints and webhooks reach this machine; it is for development and tests, never production.',
    );
  }
  return env.OUTBOUND_ALLOW_LOOPBACK ?? false;
}

const vapidVariables = ['VAPID_PUBLIC_KEY', 'VAPID_PRIVATE_KEY', 'VAPID_SUBJECT'] as const;
const generateVapidKeys = 'generate a pair with: npx web-push generate-vapid-keys';

/**
 * Web Push's keys. Like the token secret, production never invents them: it needs all three
 * variables, or `PUSH=off` to say that running without push is meant (not a forgotten secret).
 * Development with none creates a pair under DATA_DIR. Every refusal is one line.
 */
function pushConfig(env: z.infer<typeof environmentSchema>): PushConfig {
  if (env.PUSH === 'off') return { mode: 'off' };
  const { VAPID_PUBLIC_KEY: publicKey, VAPID_PRIVATE_KEY: privateKey, VAPID_SUBJECT: subject } = env;
  const missing = vapidVariables.filter((name) => env[name] === undefined);
  if (env.NODE_ENV !== 'production' && !publicKey && !privateKey) {
    return { mode: 'development-keys', subject: subject === undefined ? 'mailto:tasks-api@localhost' : checkedSubject(subject) };
  }
  if (missing.length === vapidVariables.length) {
    throw new ConfigError(
      `Web Push has no keys: production needs VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT (${generateVapidKeys}), or PUSH=off to run without push.`,
    );
  }
  if (!publicKey || !privateKey || !subject) {
    const names = missing.length === 1 ? `${missing[0]} is` : `${missing.join(' and ')} are`;
    throw new ConfigError(`Web Push needs all three VAPID variables, but ${names} not set (${generateVapidKeys}), or set PUSH=off to run without push.`);
  }
  checkVapidKeyPair(publicKey, privateKey);
  return { mode: 'configured', publicKey, privateKey, subject: checkedSubject(subject) };
}

/** A key pair web-push can sign with: the public key on P-256, and the private key that belongs to it. */
function checkVapidKeyPair(publicKey: string, privateKey: string): void {
  const publicBytes = Buffer.from(publicKey, 'base64url');
  if (!/^[A-Za-z0-9_-]{87}$/.test(publicKey) || publicBytes[0] !== 4 || !isP256Point(publicBytes)) {
    throw new ConfigError(`VAPID_PUBLIC_KEY is not a P-256 public key in base64url (87 characters; ${generateVapidKeys}).`);
  }
  const ecdh = createECDH('prime256v1');
  try {
    if (!/^[A-Za-z0-9_-]{43}$/.test(privateKey)) throw new Error('not 32 bytes');
    ecdh.setPrivateKey(Buffer.from(privateKey, 'base64url'));
  } catch {
    throw new ConfigError(`VAPID_PRIVATE_KEY is not a P-256 private key in base64url (43 characters; ${generateVapidKeys}).`);
  }
  // A mismatched pair signs JWTs that every push service refuses (403): catch it here, not per push.
  if (!ecdh.getPublicKey().equals(publicBytes)) {
    throw new ConfigError('VAPID_PRIVATE_KEY is not the private key of VAPID_PUBLIC_KEY: set both from the same generated pair.');
  }
}

function isP256Point(uncompressed: Buffer): boolean {
  try {
    const coordinate = (from: number) => uncompressed.subarray(from, from + 32).toString('base64url');
    createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: coordinate(1), y: coordinate(33) }, format: 'jwk' });
    return true;
  } catch {
    return false;
  }
}

function checkedSubject(subject: string): string {
  if (!/^(mailto:|https:\/\/)\S+$/.test(subject)) {
    throw new ConfigError('VAPID_SUBJECT must be a mailto: or https: URL (RFC 8292 "sub"), such as mailto:ops@example.com.');
  }
  return subject;
}

// The migration step verifies no tokens; nothing reads this.
const notNeededForMigrations: AuthConfig = { mode: 'configured' };

function trustProxySetting(value: string | undefined): TrustProxy {
  if (value === undefined || value === 'false') return false;
  return /^\d+$/.test(value) ? Number(value) : value;
}

function authConfig(env: z.infer<typeof environmentSchema>): AuthConfig {
  const betterAuthUrl = env.BETTER_AUTH_URL?.replace(/\/+$/, '');
  const jwksUrl = env.JWT_JWKS_URL ?? (betterAuthUrl ? `${betterAuthUrl}/api/auth/jwks` : undefined);
  const jwks = jwksUrl
    ? {
        jwksUrl: new URL(jwksUrl),
        issuer: env.JWT_ISSUER ?? betterAuthUrl,
        audience: env.JWT_AUDIENCE ?? betterAuthUrl,
      }
    : undefined;
  // BETTER_AUTH_URL is where Better Auth's own tokens come from; HS256 tokens are minted by other
  // code, so only an explicit JWT_ISSUER / JWT_AUDIENCE constrains them.
  const secret = env.BETTER_AUTH_SECRET
    ? { secret: env.BETTER_AUTH_SECRET, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE }
    : undefined;
  if (jwks || secret) return { mode: 'configured', jwks, secret };
  if (env.NODE_ENV === 'production') {
    throw new ConfigError(
      'No token verification is configured, and a production start never invents a secret.\n' +
        '  Set BETTER_AUTH_URL (or JWT_JWKS_URL) to verify Better Auth JWTs against its JWKS,\n' +
        '  and/or BETTER_AUTH_SECRET to verify HS256 tokens signed with that shared secret.',
    );
  }
  return { mode: 'development-secret', issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE };
}
