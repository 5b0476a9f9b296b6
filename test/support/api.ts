// Starts the real app on a real loopback port over a real pool, and mints tokens for test users.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, type JWTPayload } from 'jose';
import type { Interceptor } from 'slonik';
import request from 'supertest';
import { createApp } from '../../src/app.ts';
import { createAuthenticator, type AuthOptions } from '../../src/auth.ts';
import type { RateLimits, TrustProxy } from '../../src/config.ts';
import type { VapidKeys } from '../../src/contract.ts';
import { createDatabasePool, type DatabasePool } from '../../src/database/pool.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { silentLog, testDatabaseUrl } from './database.ts';

/** The HS256 secret the default test API verifies with. */
export const testSecret = 'tasks-api-test-secret-0123456789abcdef';

export type TestApi = {
  readonly url: string;
  /** supertest bound to the listening server: `api.http.get('/api/tasks')`. */
  readonly http: ReturnType<typeof request>;
  readonly pool: DatabasePool;
  readonly close: () => Promise<void>;
};

export type TestApiOptions = {
  readonly databaseUrl?: string;
  readonly auth?: AuthOptions;
  readonly bodyLimitBytes?: number;
  readonly interceptors?: readonly Interceptor[];
  readonly isShuttingDown?: () => boolean;
  /** The app's logger (default: silent); tests that read the log pass one from `capturedLog()`. */
  readonly log?: Logger;
  readonly metricsToken?: string;
  readonly rateLimits?: RateLimits;
  readonly trustProxy?: TrustProxy;
  readonly urlLimitBytes?: number;
  readonly corsOrigins?: readonly string[];
  readonly maxPoolSize?: number;
  /** Where the pool warns (a pooler that lost a named statement); default: nowhere. */
  readonly poolLog?: Logger;
  /** Named prepared statements (default true, as the server). */
  readonly preparedStatements?: boolean;
  /** Web Push's keys (default: none, push off); `testVapid` is a fixed pair. */
  readonly vapid?: VapidKeys;
  /** Outbound calls (push, webhooks) may go to loopback: the tests' receivers. */
  readonly allowLoopback?: boolean;
};

/** A VAPID key pair for tests (generated once with web-push's generateVAPIDKeys). */
export const testVapid: VapidKeys = {
  publicKey: 'BJTc3yytPh0bpgg1djUuVMlD4glDHH2k1BoJEe1jChCU-rMjvwaBVnirXR902UvkqN_OG_eL5FLSjOctqGeKHlk',
  privateKey: 'R-PksWEe7zZJQ2Omr7jqCeG1AxsxQsvBkVtGWOpAjFU',
  subject: 'mailto:tests@tasks-api.example',
};

export async function startTestApi(options: TestApiOptions = {}): Promise<TestApi> {
  const pool = await createDatabasePool(options.databaseUrl ?? testDatabaseUrl(), {
    maxPoolSize: options.maxPoolSize ?? 5,
    interceptors: options.interceptors,
    log: options.poolLog,
    preparedStatements: options.preparedStatements,
  });
  const app = createApp({
    context: { db: pool, isShuttingDown: options.isShuttingDown ?? (() => false), vapid: options.vapid, allowLoopback: options.allowLoopback },
    authenticate: createAuthenticator(options.auth ?? { secret: { secret: testSecret, issuer: undefined, audience: undefined } }),
    log: options.log ?? silentLog,
    bodyLimitBytes: options.bodyLimitBytes ?? 65_536,
    // Always on in tests, with no option to turn it off: every response the suite sees is checked
    // against the contract by the server (the root hook proves it, see response-validation.ts).
    validateResponses: true,
    metricsToken: options.metricsToken,
    rateLimits: options.rateLimits,
    trustProxy: options.trustProxy,
    urlLimitBytes: options.urlLimitBytes,
    corsOrigins: options.corsOrigins,
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    http: request(url),
    pool,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await pool.end();
    },
  };
}

export type CapturedLog = {
  readonly log: Logger;
  /** Every line written so far, parsed. */
  readonly lines: () => Record<string, unknown>[];
  /** Everything written so far, as written. */
  readonly text: () => string;
};

/** The app's own logger (same options as the server's), writing JSON lines into memory. */
export function capturedLog(level = 'info'): CapturedLog {
  let text = '';
  const log = createLogger(level, { destination: { write: (chunk: string) => void (text += chunk) } });
  return {
    log,
    text: () => text,
    lines: () => text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

let shared: TestApi | undefined;

/** One API instance (HS256 with `testSecret`, the shared test database) for the whole run. */
export async function sharedApi(): Promise<TestApi> {
  shared ??= await startTestApi();
  return shared;
}

export async function closeSharedApi(): Promise<void> {
  await shared?.close();
  shared = undefined;
}

export type SignOptions = {
  readonly secret?: string;
  readonly claims?: JWTPayload;
  /** Seconds from now; negative for an expired token. */
  readonly expiresIn?: number;
};

export async function hs256Token(userId: string | undefined, options: SignOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = { iat: now, exp: now + (options.expiresIn ?? 900), ...options.claims };
  if (userId !== undefined) payload.sub = userId;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(options.secret ?? testSecret));
}

export type TestUser = { readonly id: string; readonly token: string; readonly authorization: string };

/** A user no other test knows, with a valid token for the default test API. */
export async function newUser(label = 'user'): Promise<TestUser> {
  const id = `${label}-${randomUUID()}`;
  const token = await hs256Token(id);
  return { id, token, authorization: `Bearer ${token}` };
}
