// The one module that reads process.env. Everything is validated at start so a bad setting stops
// the process with a message naming the variable, instead of surfacing as a strange 500 later.
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
  WEB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  DATABASE_PREPARED_STATEMENTS: booleanFlag,
});

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
  /** Named prepared statements; off only for a connection pooler that cannot keep them. */
  readonly databasePreparedStatements: boolean;
  /** Server processes (node:cluster workers) on this machine; 1 serves from the main process. */
  readonly webConcurrency: number;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environmentSchema.safeParse(environment);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  const env = parsed.data;
  return {
    environment: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    databaseUrl: env.DATABASE_URL,
    databasePoolMax: env.DATABASE_POOL_MAX,
    databaseWaitSeconds: env.DATABASE_WAIT_SECONDS,
    dataDirectory: path.resolve(env.DATA_DIR),
    auth: authConfig(env),
    // Response validation catches contract drift; it costs CPU per response, so production opts in.
    validateResponses: env.VALIDATE_RESPONSES ?? env.NODE_ENV !== 'production',
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    logLevel: env.LOG_LEVEL ?? (env.NODE_ENV === 'test' ? 'silent' : 'info'),
    webConcurrency: env.WEB_CONCURRENCY,
    databasePreparedStatements: env.DATABASE_PREPARED_STATEMENTS ?? true,
  };
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
