// The life of a JWKS seen from the API: keys added while it runs are picked up on the first token
// that names them, keys removed are refused once the set is fetched again, and an issuer whose key
// set cannot be fetched makes the API answer 503 (the caller's token may be fine), never 401 or 500.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { JWTPayload } from 'jose';
import { startTestApi, type TestApi } from '../support/api.ts';
import { typeFor, expectNewTask, expectUnauthorized } from '../support/auth-assertions.ts';
import { expectProblem } from '../support/tasks.ts';
import { newSigningKey, nowSeconds, refusedUrl, signClaims, startJwksServer, type JwksServer } from '../support/jwks-server.ts';

const issuer = 'https://auth.example.test';
const path = '/api/tasks';

function claimsForNewUser(): JWTPayload {
  const now = nowSeconds();
  return { sub: `user-${randomUUID()}`, iss: issuer, aud: issuer, iat: now, exp: now + 900 };
}

function expectIssuerUnavailable(response: Awaited<ReturnType<TestApi['http']['get']>>): void {
  expectProblem(response, { type: 'token-issuer-unavailable', instance: path });
  expect(response.headers['retry-after']).to.equal('5');
  expect(response.headers['www-authenticate']).to.equal(undefined);
}

describe('the JWKS while the API runs: new keys, revoked keys, outages', () => {
  const servers: JwksServer[] = [];
  const apis: TestApi[] = [];

  afterEach(async () => {
    await Promise.all(apis.splice(0).map((api) => api.close()));
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  async function start(options: { cacheMaxAgeMs: number; cooldownMs: number }) {
    const first = await newSigningKey('EdDSA');
    const jwks = await startJwksServer([first]);
    servers.push(jwks);
    const api = await startTestApi({
      auth: {
        jwks: { jwksUrl: jwks.jwksUrl, issuer, audience: issuer },
        jwksCacheMaxAgeMs: options.cacheMaxAgeMs,
        jwksCooldownMs: options.cooldownMs,
      },
    });
    apis.push(api);
    return { first, jwks, api };
  }

  it('accepts a token signed with a key added to the JWKS while the API runs, fetching the set again for it', async () => {
    // A long cache life: only the unknown kid can make the API fetch the set again.
    const { first, jwks, api } = await start({ cacheMaxAgeMs: 60_000, cooldownMs: 0 });
    const before = await api.http.get(path).set('Authorization', `Bearer ${await signClaims(first, claimsForNewUser())}`);
    expect(before.status).to.equal(200);
    expect(jwks.requestCount()).to.equal(1);

    const second = await newSigningKey('ES256');
    const claims = claimsForNewUser();
    const earlyToken = await signClaims(second, claims);
    const early = await api.http.get(path).set('Authorization', `Bearer ${earlyToken}`);
    expectUnauthorized(early, { instance: path, type: typeFor.unknownKey, tokenSent: true });
    expect(jwks.requestCount(), 'an unknown kid makes the API fetch the set again').to.equal(2);

    jwks.publish([first, second]);
    const created = await api.http.post(path).set('Authorization', `Bearer ${earlyToken}`).send({ title: 'New key' });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expectNewTask(created.body, claims.sub!, 'New key');
    expect(jwks.requestCount()).to.equal(3);

    // The old key still works, from the cache.
    const old = await api.http.get(path).set('Authorization', `Bearer ${await signClaims(first, claimsForNewUser())}`);
    expect(old.status).to.equal(200);
    expect(jwks.requestCount()).to.equal(3);
  });

  it('does not fetch the JWKS again for unknown kids during the cooldown', async () => {
    const { first, jwks, api } = await start({ cacheMaxAgeMs: 60_000, cooldownMs: 60_000 });
    const known = await api.http.get(path).set('Authorization', `Bearer ${await signClaims(first, claimsForNewUser())}`);
    expect(known.status).to.equal(200);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const stranger = await newSigningKey('EdDSA');
      const response = await api.http.get(path).set('Authorization', `Bearer ${await signClaims(stranger, claimsForNewUser())}`);
      expectUnauthorized(response, { instance: path, type: typeFor.unknownKey, tokenSent: true });
    }
    expect(jwks.requestCount()).to.equal(1);
  });

  it('refuses a token whose key was removed from the JWKS once the set is fetched again (revocation)', async () => {
    const cacheMaxAgeMs = 200;
    const { first, jwks, api } = await start({ cacheMaxAgeMs, cooldownMs: cacheMaxAgeMs });
    const replacement = await newSigningKey('EdDSA');
    const claims = claimsForNewUser();
    const token = await signClaims(first, claims);
    const accepted = await api.http.get(path).set('Authorization', `Bearer ${token}`);
    expect(accepted.status).to.equal(200);
    const fetchedAt = Date.now();

    jwks.publish([replacement]);
    // The cached set expires cacheMaxAgeMs after it was fetched; the next request fetches it again.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, fetchedAt + cacheMaxAgeMs + 20 - Date.now())));
    const revoked = await api.http.get(path).set('Authorization', `Bearer ${token}`);
    expectUnauthorized(revoked, { instance: path, type: typeFor.unknownKey, tokenSent: true });
    expect(jwks.requestCount()).to.be.at.least(2);

    const current = await api.http.get(path).set('Authorization', `Bearer ${await signClaims(replacement, claimsForNewUser())}`);
    expect(current.status).to.equal(200);
  });

  it('answers a token without kid the same on every use: accepted with one key of its algorithm, refused with several', async () => {
    const { first, jwks, api } = await start({ cacheMaxAgeMs: 60_000, cooldownMs: 0 });
    const token = await signClaims(first, claimsForNewUser(), { header: { kid: undefined } });
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).not.to.have.property('kid');
    // From the second use on, the answer comes from the verified-token cache and its key lookup.
    for (let use = 1; use <= 3; use += 1) {
      const response = await api.http.get(path).set('Authorization', `Bearer ${token}`);
      expect(response.status, `use ${use}: ${JSON.stringify(response.body)}`).to.equal(200);
    }

    const { first: other, jwks: otherJwks, api: otherApi } = await start({ cacheMaxAgeMs: 60_000, cooldownMs: 0 });
    otherJwks.publish([other, await newSigningKey('EdDSA')]);
    const ambiguous = await signClaims(other, claimsForNewUser(), { header: { kid: undefined } });
    for (let use = 1; use <= 2; use += 1) {
      const response = await otherApi.http.get(path).set('Authorization', `Bearer ${ambiguous}`);
      expectUnauthorized(response, { instance: path, type: typeFor.unknownKey, tokenSent: true });
    }
    expect(jwks.requestCount()).to.equal(1);
  });

  it('refuses a remembered token without kid once the key set holds another key of its algorithm instead of the one that verified it', async () => {
    const cacheMaxAgeMs = 200;
    const { first, jwks, api } = await start({ cacheMaxAgeMs, cooldownMs: cacheMaxAgeMs });
    const token = await signClaims(first, claimsForNewUser(), { header: { kid: undefined } });
    for (let use = 1; use <= 2; use += 1) {
      const accepted = await api.http.get(path).set('Authorization', `Bearer ${token}`);
      expect(accepted.status, `use ${use}: ${JSON.stringify(accepted.body)}`).to.equal(200);
    }
    const fetchedAt = Date.now();

    // The only key of the token's algorithm is now a different one: the lookup for a token without
    // kid finds it, but it is not the key that verified the remembered token.
    jwks.publish([await newSigningKey('EdDSA')]);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, fetchedAt + cacheMaxAgeMs + 20 - Date.now())));
    const refused = await api.http.get(path).set('Authorization', `Bearer ${token}`);
    expectUnauthorized(refused, { instance: path, type: typeFor.badSignature, tokenSent: true });
    expect(jwks.requestCount()).to.be.at.least(2);
  });

  it('answers 503 with Retry-After when the JWKS endpoint refuses connections', async () => {
    const key = await newSigningKey('EdDSA');
    const api = await startTestApi({ auth: { jwks: { jwksUrl: await refusedUrl(), issuer, audience: issuer } } });
    apis.push(api);
    const response = await api.http.get(path).set('Authorization', `Bearer ${await signClaims(key, claimsForNewUser())}`);
    expectIssuerUnavailable(response);
  });

  it('answers 503 with Retry-After when the JWKS endpoint answers 500', async () => {
    const { first, jwks, api } = await start({ cacheMaxAgeMs: 60_000, cooldownMs: 0 });
    jwks.answerWith(500, '{"error":"down"}');
    const response = await api.http.get(path).set('Authorization', `Bearer ${await signClaims(first, claimsForNewUser())}`);
    expectIssuerUnavailable(response);
    expect(jwks.requestCount()).to.equal(1);
  });

  it('answers 503 with Retry-After when the JWKS endpoint answers something that is not a key set', async () => {
    const { first, jwks, api } = await start({ cacheMaxAgeMs: 60_000, cooldownMs: 0 });
    jwks.answerWith(200, '<html>maintenance</html>');
    const response = await api.http.get(path).set('Authorization', `Bearer ${await signClaims(first, claimsForNewUser())}`);
    expectIssuerUnavailable(response);
  });

  it('answers 503 once the JWKS endpoint goes down after the cached set expired, and recovers when it is back', async () => {
    const cacheMaxAgeMs = 100;
    const { first, jwks, api } = await start({ cacheMaxAgeMs, cooldownMs: 0 });
    const token = await signClaims(first, claimsForNewUser());
    expect((await api.http.get(path).set('Authorization', `Bearer ${token}`)).status).to.equal(200);
    const fetchedAt = Date.now();

    jwks.answerWith(503, '');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, fetchedAt + cacheMaxAgeMs + 20 - Date.now())));
    expectIssuerUnavailable(await api.http.get(path).set('Authorization', `Bearer ${token}`));

    jwks.publish([first]);
    const requestsBefore = jwks.requestCount();
    const recovered = await api.http.get(path).set('Authorization', `Bearer ${token}`);
    expect(recovered.status).to.equal(200);
    expect(jwks.requestCount(), 'the set was fetched again').to.equal(requestsBefore + 1);
  });

  it('answers 401, not 503, to a request without a token while the JWKS endpoint is down', async () => {
    const api = await startTestApi({ auth: { jwks: { jwksUrl: await refusedUrl(), issuer, audience: issuer } } });
    apis.push(api);
    const response = await api.http.get(path);
    expectUnauthorized(response, { instance: path, type: typeFor.missing, tokenSent: false });
  });
});
