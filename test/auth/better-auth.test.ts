// End to end with a real Better Auth server: a user signs up with email and password, the
// frontend exchanges the session cookie for a JWT at /api/auth/token, and the API verifies that
// JWT against Better Auth's JWKS, for the default algorithm (EdDSA) and every other one Better
// Auth offers. Each Better Auth server has its own database.
import { expect } from 'chai';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { startTestApi, type TestApi } from '../support/api.ts';
import { typeFor, expectNewTask, expectUnauthorized } from '../support/auth-assertions.ts';
import { signUpForToken, startBetterAuth, type BetterAuthServer } from '../support/better-auth.ts';
import { expectProblem } from '../support/tasks.ts';

async function startApiFor(betterAuth: BetterAuthServer): Promise<TestApi> {
  return startTestApi({
    auth: { jwks: { jwksUrl: betterAuth.jwksUrl, issuer: betterAuth.baseURL, audience: betterAuth.baseURL } },
  });
}

/** Creates a task with the token, reads it back, and checks both answers in full. */
async function expectTaskRoundTrip(api: TestApi, token: string, userId: string, title: string): Promise<void> {
  const created = await api.http.post('/api/tasks').set('Authorization', `Bearer ${token}`).send({ title });
  expect(created.status, JSON.stringify(created.body)).to.equal(201);
  expectNewTask(created.body, userId, title);
  expect(created.headers.location).to.equal(`/api/tasks/${created.body.id}`);

  const read = await api.http.get(`/api/tasks/${created.body.id}`).set('Authorization', `Bearer ${token}`);
  expect(read.status).to.equal(200);
  expect(read.body).to.deep.equal(created.body);
}

describe('tokens from a real Better Auth server (default EdDSA key)', () => {
  let betterAuth: BetterAuthServer;
  let api: TestApi;

  before(async () => {
    betterAuth = await startBetterAuth();
    api = await startApiFor(betterAuth);
  });

  after(async () => {
    await api?.close();
    await betterAuth?.close();
  });

  it('accepts the token of a user who signed up, and owns the task by the Better Auth user id', async () => {
    const user = await signUpForToken(betterAuth, 'alice');
    await expectTaskRoundTrip(api, user.token, user.id, 'Buy milk');
  });

  it('accepts the JWT Better Auth sends in the set-auth-jwt header of get-session', async () => {
    const user = await signUpForToken(betterAuth, 'grace');
    expect(decodeJwt(user.sessionJwt)).to.deep.include({ sub: user.id, iss: betterAuth.baseURL, aud: betterAuth.baseURL });
    await expectTaskRoundTrip(api, user.sessionJwt, user.id, 'Via get-session');
  });

  it("refuses Better Auth's opaque session token (the sign-up answer's token field), which is not a JWT", async () => {
    const user = await signUpForToken(betterAuth, 'heidi');
    const response = await api.http.get('/api/tasks').set('Authorization', `Bearer ${user.sessionToken}`);
    expectUnauthorized(response, { instance: '/api/tasks', type: typeFor.malformed, tokenSent: true });
  });

  it('gets an EdDSA token whose header names the Ed25519 key Better Auth publishes', async () => {
    const user = await signUpForToken(betterAuth, 'bob');
    const jwks = (await (await fetch(betterAuth.jwksUrl)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).to.have.length(1);
    const [key] = jwks.keys;
    expect(key).to.deep.equal({ alg: 'EdDSA', crv: 'Ed25519', kty: 'OKP', x: key!.x, kid: key!.kid });
    // Better Auth sets only alg and kid: no typ.
    expect(decodeProtectedHeader(user.token)).to.deep.equal({ alg: 'EdDSA', kid: key!.kid });
  });

  it('puts the base URL in iss and aud, the user id in sub, and a 15-minute lifetime in the token', async () => {
    const user = await signUpForToken(betterAuth, 'carol');
    const claims = decodeJwt(user.token);
    expect(claims.iss).to.equal(betterAuth.baseURL);
    expect(claims.aud).to.equal(betterAuth.baseURL);
    expect(claims.sub).to.equal(user.id);
    expect(claims.exp! - claims.iat!).to.equal(15 * 60);
    expect(Math.abs(claims.iat! - Date.now() / 1000)).to.be.below(60);
    // The rest of the payload is the user record.
    expect(claims).to.deep.include({ id: user.id, email: user.email, name: user.name, emailVerified: false, image: null });
  });

  it('accepts the Better Auth user id in the user-scoped path and refuses another user id there', async () => {
    const user = await signUpForToken(betterAuth, 'dave');
    const other = await signUpForToken(betterAuth, 'erin');
    const own = await api.http.post(`/api/${user.id}/tasks`).set('Authorization', `Bearer ${user.token}`).send({ title: 'Mine' });
    expect(own.status, JSON.stringify(own.body)).to.equal(201);
    expectNewTask(own.body, user.id, 'Mine');
    const foreign = await api.http.get(`/api/${other.id}/tasks`).set('Authorization', `Bearer ${user.token}`);
    expectProblem(foreign, { type: 'user-path-mismatch', instance: `/api/${other.id}/tasks` });
  });

  it("refuses a Better Auth token whose sub was changed after signing", async () => {
    const user = await signUpForToken(betterAuth, 'frank');
    const [header, payload, signature] = user.token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url');
    const response = await api.http.get('/api/tasks').set('Authorization', `Bearer ${header}.${forged}.${signature}`);
    expectUnauthorized(response, { instance: '/api/tasks', type: typeFor.badSignature, tokenSent: true });
  });
});

describe('tokens from Better Auth servers configured with the other algorithms it offers', () => {
  // JWKOptions in better-auth/plugins allows exactly these besides EdDSA.
  const algorithms = ['RS256', 'ES256', 'PS256', 'ES512'] as const;
  const servers = new Map<string, { betterAuth: BetterAuthServer; api: TestApi }>();

  before(async function () {
    this.timeout(30_000);
    await Promise.all(
      algorithms.map(async (alg) => {
        const betterAuth = await startBetterAuth({ keyPairConfig: { alg } });
        servers.set(alg, { betterAuth, api: await startApiFor(betterAuth) });
      }),
    );
  });

  after(async () => {
    await Promise.all([...servers.values()].map(async ({ betterAuth, api }) => {
      await api.close();
      await betterAuth.close();
    }));
  });

  for (const alg of algorithms) {
    it(`accepts a ${alg} token from a Better Auth server configured for ${alg}`, async () => {
      const { betterAuth, api } = servers.get(alg)!;
      const user = await signUpForToken(betterAuth, alg.toLowerCase());
      const header = decodeProtectedHeader(user.token);
      expect(header).to.deep.equal({ alg, kid: header.kid });
      expect(decodeJwt(user.token)).to.deep.include({ iss: betterAuth.baseURL, aud: betterAuth.baseURL, sub: user.id });
      await expectTaskRoundTrip(api, user.token, user.id, `Task signed with ${alg}`);
    });
  }

  it("refuses a token from one Better Auth server at an API that trusts another one's keys", async () => {
    const rs256 = servers.get('RS256')!;
    const es256 = servers.get('ES256')!;
    const user = await signUpForToken(rs256.betterAuth, 'stranger');
    const response = await es256.api.http.get('/api/tasks').set('Authorization', `Bearer ${user.token}`);
    expectUnauthorized(response, { instance: '/api/tasks', type: typeFor.unknownKey, tokenSent: true });
  });
});
