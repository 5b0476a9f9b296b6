// The authentication settings as an operator gives them: environment variables read by the real
// entry point, verified end to end with tokens a Better Auth JWKS and a shared secret would issue.
import type { ProblemSlug } from '../../src/problems.ts';
import { expect } from 'chai';
import { SignJWT } from 'jose';
import request from 'supertest';
import { hs256Token } from '../support/api.ts';
import { typeFor, expectNewTask, expectUnauthorized } from '../support/auth-assertions.ts';
import { createMigratedDatabase } from '../support/database.ts';
import { newSigningKey, nowSeconds, signClaims, startJwksServer, type JwksServer, type TestSigningKey } from '../support/jwks-server.ts';
import { cleanEnvironment, runNode, runNodeToEnd, stopAll, type RunningProcess } from '../support/server-process.ts';

const listening = /^tasks-api listening on (http:\/\/localhost:\d+)$/;
const secret = 'operator-shared-secret-0123456789abcdef';

describe('the server started with BETTER_AUTH_URL and BETTER_AUTH_SECRET in production', () => {
  let jwks: JwksServer;
  let key: TestSigningKey;
  let server: RunningProcess;
  let url: string;
  let settings: Record<string, string>;

  before(async () => {
    key = await newSigningKey('EdDSA');
    jwks = await startJwksServer([key]);
    settings = {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      DATABASE_URL: await createMigratedDatabase('auth_configuration'),
      BETTER_AUTH_URL: `${jwks.url}/`,
      BETTER_AUTH_SECRET: secret,
      PUSH: 'off',
    };
    server = runNode('src/server.ts', [], cleanEnvironment(settings));
    const line = await server.waitForLog((entry) => listening.test(entry.msg ?? ''), 15_000);
    url = listening.exec(line.msg!)![1]!;
  });

  after(async () => {
    await stopAll();
    await jwks.close();
  });

  const betterAuthClaims = (sub: string) => ({
    sub,
    iss: jwks.url,
    aud: jwks.url,
    iat: nowSeconds(),
    exp: nowSeconds() + 900,
  });

  const createTask = (token: string) =>
    request(url).post('/api/tasks').set('authorization', `Bearer ${token}`).send({ title: 'Configured' });

  it('logs both verification modes, with the JWKS address derived from BETTER_AUTH_URL', () => {
    const line = server.logs.find((entry) => listening.test(entry.msg ?? ''));
    expect(line?.auth).to.deep.equal([`JWKS ${jwks.url}/api/auth/jwks`, 'HS256 BETTER_AUTH_SECRET']);
    expect(line?.environment).to.equal('production');
  });

  it('accepts an EdDSA token whose iss and aud are BETTER_AUTH_URL (trailing slash ignored)', async () => {
    const response = await createTask(await signClaims(key, betterAuthClaims('jwks-user')));
    expect(response.status, response.text).to.equal(201);
    expectNewTask(response.body, 'jwks-user', 'Configured');
  });

  it('refuses an EdDSA token meant for another audience', async () => {
    const response = await createTask(await signClaims(key, { ...betterAuthClaims('jwks-user'), aud: 'https://elsewhere.example' }));
    expectUnauthorized(response, { instance: '/api/tasks', type: typeFor.audience, tokenSent: true });
  });

  it('accepts an HS256 token signed with BETTER_AUTH_SECRET, without iss or aud (none configured for HS256)', async () => {
    const response = await createTask(await hs256Token('secret-user', { secret }));
    expect(response.status, response.text).to.equal(201);
    expectNewTask(response.body, 'secret-user', 'Configured');
  });

  it('refuses an HS256 token signed with any other secret', async () => {
    const response = await createTask(await hs256Token('secret-user', { secret: `${secret}-not` }));
    expectUnauthorized(response, { instance: '/api/tasks', type: typeFor.badSignature, tokenSent: true });
  });

  it('lets `make token` mint tokens with BETTER_AUTH_SECRET that the server accepts', async () => {
    const minted = await runNodeToEnd('scripts/token.ts', ['token-user'], cleanEnvironment(settings), 15_000);
    expect(minted.code, minted.stderr).to.equal(0);
    const response = await createTask(minted.stdout.trim());
    expect(response.status, response.text).to.equal(201);
    expectNewTask(response.body, 'token-user', 'Configured');
  });

  it('makes `make token` explain that JWKS-only setups get tokens from Better Auth', async () => {
    const { BETTER_AUTH_SECRET: _secret, ...jwksOnly } = settings;
    const minted = await runNodeToEnd('scripts/token.ts', ['token-user'], cleanEnvironment(jwksOnly), 15_000);
    expect(minted.code).to.equal(1);
    expect(minted.stdout).to.equal('');
    expect(minted.stderr).to.include('get tokens from Better Auth (GET /api/auth/token)');
  });
});

describe('the server started with JWT_ISSUER and JWT_AUDIENCE for HS256 tokens', () => {
  let url: string;

  before(async () => {
    const server = runNode(
      'src/server.ts',
      [],
      cleanEnvironment({
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'info',
        DATABASE_URL: await createMigratedDatabase('issuer_audience'),
        BETTER_AUTH_SECRET: secret,
        PUSH: 'off',
        JWT_ISSUER: 'https://auth.example',
        JWT_AUDIENCE: 'tasks-api',
      }),
    );
    const line = await server.waitForLog((entry) => listening.test(entry.msg ?? ''), 15_000);
    url = listening.exec(line.msg!)![1]!;
  });

  after(() => stopAll());

  const tokenWith = (claims: Record<string, string>) =>
    new SignJWT({ sub: 'issued-user', ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret));

  it('accepts an HS256 token with that issuer and audience', async () => {
    const token = await tokenWith({ iss: 'https://auth.example', aud: 'tasks-api' });
    const response = await request(url).get('/api/tasks').set('authorization', `Bearer ${token}`);
    expect(response.status, response.text).to.equal(200);
    expect(response.body).to.deep.equal([]);
  });

  it('refuses an HS256 token without them, or with others', async () => {
    const cases: { claims: Record<string, string>; type: ProblemSlug }[] = [
      { claims: {}, type: typeFor.issuer },
      { claims: { iss: 'https://auth.example' }, type: typeFor.audience },
      { claims: { iss: 'https://other.example', aud: 'tasks-api' }, type: typeFor.issuer },
    ];
    for (const { claims, type } of cases) {
      const token = await tokenWith(claims);
      const response = await request(url).get('/api/tasks').set('authorization', `Bearer ${token}`);
      expectUnauthorized(response, { instance: '/api/tasks', type, tokenSent: true });
    }
  });
});
