// A real Better Auth server (email + password, jwt plugin) on a loopback port, each in its own
// empty database, and a frontend-like client for it: sign up with email/password, then exchange
// the session cookie for a JWT at /api/auth/token, exactly as a Next.js frontend does.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import { jwt, type JwtOptions } from 'better-auth/plugins';
import pg from 'pg';
import { createEmptyDatabase } from './database.ts';

export type BetterAuthServer = {
  /** The base URL Better Auth was configured with, e.g. `http://127.0.0.1:41234`. */
  readonly baseURL: string;
  readonly jwksUrl: URL;
  readonly close: () => Promise<void>;
};

export type BetterAuthUser = {
  /** Better Auth's own id for the user (the `sub` of its JWTs). */
  readonly id: string;
  readonly email: string;
  readonly name: string;
  /** The JWT from GET /api/auth/token. */
  readonly token: string;
  /** The JWT Better Auth also puts in the `set-auth-jwt` header of GET /api/auth/get-session. */
  readonly sessionJwt: string;
  /** The opaque session token in the sign-up answer's `token` field (not a JWT). */
  readonly sessionToken: string;
};

type KeyPairConfig = NonNullable<NonNullable<JwtOptions['jwks']>['keyPairConfig']>;

export async function startBetterAuth(options: { readonly keyPairConfig?: KeyPairConfig } = {}): Promise<BetterAuthServer> {
  // The server listens first, so Better Auth can be told its real base URL (the port is free-picked).
  let handle: (request: IncomingMessage, response: ServerResponse) => Promise<void> = async (_request, response) => {
    response.statusCode = 503;
    response.end();
  };
  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) response.statusCode = 500;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const pool = new pg.Pool({ connectionString: await createEmptyDatabase('better_auth'), max: 3 });
  const config = {
    baseURL,
    secret: randomBytes(32).toString('hex'),
    database: pool,
    emailAndPassword: { enabled: true },
    logger: { disabled: true },
    telemetry: { enabled: false },
    plugins: [jwt(options.keyPairConfig ? { jwks: { keyPairConfig: options.keyPairConfig } } : undefined)],
  };
  const { runMigrations } = await getMigrations(config);
  await runMigrations();
  const auth = betterAuth(config);
  handle = toNodeHandler(auth);

  return {
    baseURL,
    jwksUrl: new URL(`${baseURL}/api/auth/jwks`),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await pool.end();
    },
  };
}

/** Signs a new user up and gets a JWT for them, over HTTP, the way a browser frontend does. */
export async function signUpForToken(server: BetterAuthServer, label = 'user'): Promise<BetterAuthUser> {
  const email = `${label}-${randomUUID()}@example.test`;
  const name = `Test ${label}`;
  const signUp = await fetch(`${server.baseURL}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: server.baseURL },
    body: JSON.stringify({ email, password: `pw-${randomUUID()}`, name }),
  });
  const signUpBody = (await signUp.json()) as { token?: unknown; user?: { id?: unknown } };
  if (signUp.status !== 200 || typeof signUpBody.user?.id !== 'string' || typeof signUpBody.token !== 'string') {
    throw new Error(`Better Auth sign-up answered ${signUp.status}: ${JSON.stringify(signUpBody)}`);
  }
  // Only the cookie's name=value pairs go back, as a browser would send them.
  const cookie = signUp.headers
    .getSetCookie()
    .map((setCookie) => setCookie.split(';')[0])
    .join('; ');
  const tokenResponse = await fetch(`${server.baseURL}/api/auth/token`, { headers: { cookie } });
  const tokenBody = (await tokenResponse.json()) as { token?: unknown };
  if (tokenResponse.status !== 200 || typeof tokenBody.token !== 'string') {
    throw new Error(`Better Auth /api/auth/token answered ${tokenResponse.status}: ${JSON.stringify(tokenBody)}`);
  }
  const session = await fetch(`${server.baseURL}/api/auth/get-session`, { headers: { cookie } });
  const sessionJwt = session.headers.get('set-auth-jwt');
  if (session.status !== 200 || sessionJwt === null) {
    throw new Error(`Better Auth /api/auth/get-session answered ${session.status} without a set-auth-jwt header`);
  }
  return { id: signUpBody.user.id, email, name, token: tokenBody.token, sessionJwt, sessionToken: signUpBody.token };
}
