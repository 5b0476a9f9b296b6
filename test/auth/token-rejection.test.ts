// Every way a request can fail to prove who it is gets a 401 problem document and a Bearer
// challenge, never a 500 and never the data. Tokens are built with keys the test controls: an
// EdDSA key published by a local JWKS server (like Better Auth's default) and the HS256 secret.
// Each refused token differs from an accepted one in exactly one respect.
import type { ProblemSlug } from '../../src/problems.ts';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { exportSPKI, SignJWT, type JWTPayload } from 'jose';
import { hs256Token, startTestApi, testSecret, type TestApi } from '../support/api.ts';
import { typeFor, expectNewTask, expectUnauthorized } from '../support/auth-assertions.ts';
import {
  newSigningKey,
  nowSeconds,
  signClaims,
  startJwksServer,
  type JwksServer,
  type TestSigningKey,
} from '../support/jwks-server.ts';

const path = '/api/tasks';

/** Claims of a token the JWKS-configured API accepts, for a brand-new user. */
function validClaims(issuer: string, audience: string, overrides: JWTPayload = {}): JWTPayload {
  const now = nowSeconds();
  return { sub: `user-${randomUUID()}`, iss: issuer, aud: audience, iat: now, exp: now + 900, ...overrides };
}

function withoutClaim(claims: JWTPayload, name: string): JWTPayload {
  const copy = { ...claims };
  delete copy[name];
  return copy;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('requests that carry no Bearer token in the Authorization header', () => {
  let jwks: JwksServer;
  let key: TestSigningKey;
  let api: TestApi;
  let issuer: string;

  before(async () => {
    key = await newSigningKey('EdDSA');
    jwks = await startJwksServer([key]);
    issuer = jwks.url;
    api = await startTestApi({ auth: { jwks: { jwksUrl: jwks.jwksUrl, issuer, audience: issuer } } });
  });

  after(async () => {
    await api?.close();
    await jwks?.close();
  });

  it('refuses a request without an Authorization header', async () => {
    const response = await api.http.get(path);
    expectUnauthorized(response, { instance: path, type: typeFor.missing, tokenSent: false });
  });

  it('refuses a request without a token before validating its body', async () => {
    const response = await api.http.post(path).send({ not: 'a task' });
    expectUnauthorized(response, { instance: path, type: typeFor.missing, tokenSent: false });
  });

  it('refuses Basic credentials', async () => {
    const response = await api.http.get(path).set('Authorization', `Basic ${Buffer.from('alice:secret').toString('base64')}`);
    expectUnauthorized(response, { instance: path, type: typeFor.missing, tokenSent: false });
  });

  it('refuses a Bearer scheme with no token after it', async () => {
    const response = await api.http.get(path).set('Authorization', 'Bearer');
    expectUnauthorized(response, { instance: path, type: typeFor.notBearer, tokenSent: false });
  });

  it('refuses a valid token sent in the access_token query parameter', async () => {
    const token = await signClaims(key, validClaims(issuer, issuer));
    const response = await api.http.get(path).query({ access_token: token });
    expectUnauthorized(response, { instance: path, type: typeFor.missing, tokenSent: false });
  });

  it('refuses a valid token sent in a cookie', async () => {
    const token = await signClaims(key, validClaims(issuer, issuer));
    const response = await api.http
      .get(path)
      .set('Cookie', `access_token=${token}; token=${token}; better-auth.session_token=${token}`);
    expectUnauthorized(response, { instance: path, type: typeFor.missing, tokenSent: false });
  });

  for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
    it(`accepts a valid token under the scheme spelled "${scheme}"`, async () => {
      const claims = validClaims(issuer, issuer);
      const token = await signClaims(key, claims);
      const response = await api.http.post(path).set('Authorization', `${scheme} ${token}`).send({ title: scheme });
      expect(response.status, JSON.stringify(response.body)).to.equal(201);
      expectNewTask(response.body, claims.sub!, scheme);
    });
  }
});

describe('forged and ill-made tokens at an API that verifies against a JWKS', () => {
  let jwks: JwksServer;
  let trusted: TestSigningKey;
  let api: TestApi;
  let issuer: string;

  before(async () => {
    trusted = await newSigningKey('EdDSA');
    jwks = await startJwksServer([trusted]);
    issuer = jwks.url;
    api = await startTestApi({ auth: { jwks: { jwksUrl: jwks.jwksUrl, issuer, audience: issuer } } });
  });

  after(async () => {
    await api?.close();
    await jwks?.close();
  });

  const refuse = async (token: string, type: ProblemSlug) => {
    const response = await api.http.get(path).set('Authorization', `Bearer ${token}`);
    expectUnauthorized(response, { instance: path, type, tokenSent: true });
  };

  it('accepts a token signed with the published key (the baseline every refusal below departs from)', async () => {
    const claims = validClaims(issuer, issuer);
    const response = await api.http.get(path).set('Authorization', `Bearer ${await signClaims(trusted, claims)}`);
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal([]);
  });

  it('refuses a Bearer value that is not a JWT', async () => {
    await refuse('not-a-jwt', typeFor.malformed);
  });

  it('refuses three dot-separated parts that are not base64url JSON', async () => {
    await refuse('abc.def.ghi', typeFor.malformed);
  });

  it('refuses a token whose sub was changed after it was signed', async () => {
    const token = await signClaims(trusted, validClaims(issuer, issuer));
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as JWTPayload;
    await refuse(`${header}.${base64url({ ...claims, sub: `victim-${randomUUID()}` })}.${signature}`, typeFor.badSignature);
  });

  it('refuses a token whose signature was made with another key under the published kid', async () => {
    const impostor = await newSigningKey('EdDSA', trusted.kid);
    await refuse(await signClaims(impostor, validClaims(issuer, issuer)), typeFor.badSignature);
  });

  it('refuses a token with the signature part removed', async () => {
    const [header, payload] = (await signClaims(trusted, validClaims(issuer, issuer))).split('.');
    await refuse(`${header}.${payload}.`, typeFor.badSignature);
  });

  it('refuses an unsigned token (alg none)', async () => {
    const token = `${base64url({ alg: 'none', kid: trusted.kid })}.${base64url(validClaims(issuer, issuer))}.`;
    await refuse(token, typeFor.algorithm);
  });

  // The alg is quoted in the detail; the challenge header must stay printable ASCII (RFC 6750 §3).
  for (const [label, alg, shownAs] of [
    ['a line break and a header of its own', 'none\r\nSet-Cookie: session=stolen', 'none??Set-Cookie: session=stolen'],
    ['non-Latin-1 characters', 'EdDSA\u20ac\u{1F600}', 'EdDSA??'],
    ['double quotes and a backslash', 'ES256" error="none\\', "ES256' error='none?"],
  ] as const) {
    it(`refuses a token whose alg header contains ${label}, with a well-formed challenge`, async () => {
      const token = `${base64url({ alg, kid: trusted.kid })}.${base64url(validClaims(issuer, issuer))}.${base64url('sig')}`;
      const response = await api.http.get(path).set('Authorization', `Bearer ${token}`);
      expectUnauthorized(response, {
        instance: path,
        type: typeFor.algorithm,
        tokenSent: true,
        challengeDescription: `The access token's algorithm (${shownAs}) is not accepted by this server.`,
      });
      expect(response.headers['set-cookie']).to.equal(undefined);
    });
  }

  it('refuses an HS256 token whose secret is the PEM of the published public key', async () => {
    const pem = await exportSPKI(trusted.publicKey);
    const token = await new SignJWT(validClaims(issuer, issuer))
      .setProtectedHeader({ alg: 'HS256', kid: trusted.kid })
      .sign(new TextEncoder().encode(pem));
    await refuse(token, typeFor.algorithm);
  });

  it('refuses an HS256 token whose secret is the published JWK', async () => {
    const token = await new SignJWT(validClaims(issuer, issuer))
      .setProtectedHeader({ alg: 'HS256', kid: trusted.kid })
      .sign(new TextEncoder().encode(JSON.stringify(trusted.publicJwk)));
    await refuse(token, typeFor.algorithm);
  });

  it('refuses an HS256 token signed with the right shared secret when only the JWKS is configured', async () => {
    const token = await hs256Token(`user-${randomUUID()}`, { claims: { iss: issuer, aud: issuer } });
    await refuse(token, typeFor.algorithm);
  });

  it('refuses a token signed with a key the JWKS does not publish (unknown kid)', async () => {
    const unpublished = await newSigningKey('EdDSA');
    await refuse(await signClaims(unpublished, validClaims(issuer, issuer)), typeFor.unknownKey);
  });

  it('refuses a token whose alg does not fit the published key (ES256 header, Ed25519 key)', async () => {
    const es256 = await newSigningKey('ES256', trusted.kid);
    await refuse(await signClaims(es256, validClaims(issuer, issuer)), typeFor.unknownKey);
  });

  it('refuses a token whose jku header points at another server, without contacting that server', async () => {
    const attacker = await newSigningKey('EdDSA');
    const attackerServer = await startJwksServer([attacker]);
    try {
      const token = await signClaims(attacker, validClaims(issuer, issuer), { header: { jku: attackerServer.jwksUrl.href } });
      await refuse(token, typeFor.namesOwnKey);
      expect(attackerServer.requestCount()).to.equal(0);
    } finally {
      await attackerServer.close();
    }
  });

  it('refuses a token that carries its own public key in a jwk header', async () => {
    const attacker = await newSigningKey('EdDSA');
    const { kid: _kid, ...jwk } = attacker.publicJwk;
    const token = await signClaims(attacker, validClaims(issuer, issuer), { header: { jwk } });
    await refuse(token, typeFor.namesOwnKey);
  });

  it('refuses a token whose x5u header names a certificate URL', async () => {
    const token = await signClaims(trusted, validClaims(issuer, issuer), { header: { x5u: `${jwks.url}/cert.pem` } });
    await refuse(token, typeFor.namesOwnKey);
  });

  it('refuses a token that marks an unknown header parameter critical', async () => {
    const critical = 'urn:example:must-understand';
    const token = await signClaims(trusted, validClaims(issuer, issuer), {
      header: { crit: [critical], [critical]: true },
      crit: { [critical]: true },
    });
    await refuse(token, typeFor.invalid);
  });

  it('refuses a token from another issuer', async () => {
    await refuse(await signClaims(trusted, validClaims('https://evil.example', issuer)), typeFor.issuer);
  });

  it('refuses a token without an issuer', async () => {
    await refuse(await signClaims(trusted, withoutClaim(validClaims(issuer, issuer), 'iss')), typeFor.issuer);
  });

  it('refuses a token meant for another audience', async () => {
    await refuse(await signClaims(trusted, validClaims(issuer, 'https://other-api.example')), typeFor.audience);
  });

  it('refuses a token without an audience', async () => {
    await refuse(await signClaims(trusted, withoutClaim(validClaims(issuer, issuer), 'aud')), typeFor.audience);
  });
});

// The claim rules are the same whichever key verifies the token: each case runs against the
// JWKS-configured API (EdDSA) and the secret-configured API (HS256).
describe('claim checks on otherwise valid tokens', () => {
  const issuer = 'https://auth.example.test';
  const audience = 'https://tasks.example.test';
  let jwks: JwksServer;
  let trusted: TestSigningKey;
  let jwksApi: TestApi;
  let secretApi: TestApi;

  before(async () => {
    trusted = await newSigningKey('EdDSA');
    jwks = await startJwksServer([trusted]);
    jwksApi = await startTestApi({ auth: { jwks: { jwksUrl: jwks.jwksUrl, issuer, audience } } });
    secretApi = await startTestApi({ auth: { secret: { secret: testSecret, issuer, audience } } });
  });

  after(async () => {
    await jwksApi?.close();
    await secretApi?.close();
    await jwks?.close();
  });

  const hs256 = (claims: JWTPayload, secret = testSecret) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));

  const modes = [
    { name: 'EdDSA from the JWKS', api: () => jwksApi, sign: (claims: JWTPayload) => signClaims(trusted, claims) },
    { name: 'HS256 with the secret', api: () => secretApi, sign: (claims: JWTPayload) => hs256(claims) },
  ];

  const cases: { readonly title: string; readonly claims: () => JWTPayload; readonly type: ProblemSlug }[] = [
    {
      title: 'refuses a token that expired two minutes ago, beyond the clock tolerance',
      claims: () => validClaims(issuer, audience, { iat: nowSeconds() - 1020, exp: nowSeconds() - 120 }),
      type: typeFor.expired,
    },
    {
      title: 'refuses a token that is not valid for another two minutes (nbf)',
      claims: () => validClaims(issuer, audience, { nbf: nowSeconds() + 120 }),
      type: typeFor.notYetValid,
    },
    {
      title: 'refuses a token issued two minutes in the future (iat)',
      claims: () => validClaims(issuer, audience, { iat: nowSeconds() + 120, exp: nowSeconds() + 1020 }),
      type: typeFor.issuedInFuture,
    },
    {
      title: 'refuses a token without sub',
      claims: () => withoutClaim(validClaims(issuer, audience), 'sub'),
      type: typeFor.noSubject,
    },
    {
      title: 'refuses a token whose sub is the empty string',
      claims: () => validClaims(issuer, audience, { sub: '' }),
      type: typeFor.noSubject,
    },
    {
      title: 'refuses a token whose sub is only blanks',
      claims: () => validClaims(issuer, audience, { sub: '   ' }),
      type: typeFor.noSubject,
    },
    {
      title: 'refuses a token whose sub is not a string',
      claims: () => validClaims(issuer, audience, { sub: 42 as never }),
      type: typeFor.noSubject,
    },
    {
      title: 'refuses a token without exp (one that would never expire)',
      claims: () => withoutClaim(validClaims(issuer, audience), 'exp'),
      type: typeFor.noExpiry,
    },
    {
      title: 'refuses a token whose exp is not a number',
      claims: () => validClaims(issuer, audience, { exp: 'tomorrow' as never }),
      type: typeFor.noExpiry,
    },
    {
      title: 'refuses a token from another issuer',
      claims: () => validClaims('https://evil.example', audience),
      type: typeFor.issuer,
    },
    {
      title: 'refuses a token meant for another audience',
      claims: () => validClaims(issuer, 'https://other-api.example'),
      type: typeFor.audience,
    },
  ];

  for (const mode of modes) {
    it(`accepts a token with every claim right (${mode.name})`, async () => {
      const claims = validClaims(issuer, audience);
      const response = await mode.api().http.get(path).set('Authorization', `Bearer ${await mode.sign(claims)}`);
      expect(response.status).to.equal(200);
      expect(response.body).to.deep.equal([]);
    });

    it(`accepts a token that expired ten seconds ago, within the clock tolerance (${mode.name})`, async () => {
      const claims = validClaims(issuer, audience, { iat: nowSeconds() - 910, exp: nowSeconds() - 10 });
      const response = await mode.api().http.get(path).set('Authorization', `Bearer ${await mode.sign(claims)}`);
      expect(response.status).to.equal(200);
      expect(response.body).to.deep.equal([]);
    });

    it(`accepts a sub of 255 characters, the longest user id the API stores (${mode.name})`, async () => {
      const claims = validClaims(issuer, audience, { sub: `u${randomUUID()}`.padEnd(255, 'x') });
      const token = await mode.sign(claims);
      const response = await mode.api().http.post(path).set('Authorization', `Bearer ${token}`).send({ title: 'Long id' });
      expect(response.status, JSON.stringify(response.body)).to.equal(201);
      expectNewTask(response.body, claims.sub!, 'Long id');
    });

    it(`refuses a token whose sub is longer than 255 characters, even when creating a task (${mode.name})`, async () => {
      const claims = validClaims(issuer, audience, { sub: `u${randomUUID()}`.padEnd(256, 'x') });
      const token = await mode.sign(claims);
      const response = await mode.api().http.post(path).set('Authorization', `Bearer ${token}`).send({ title: 'Too long' });
      expectUnauthorized(response, { instance: path, type: typeFor.unusableSubject, tokenSent: true });
    });

    it(`refuses a token whose sub contains a NUL character (${mode.name})`, async () => {
      const claims = validClaims(issuer, audience, { sub: `user-${randomUUID()}\u0000admin` });
      const token = await mode.sign(claims);
      const response = await mode.api().http.post(path).set('Authorization', `Bearer ${token}`).send({ title: 'NUL' });
      expectUnauthorized(response, { instance: path, type: typeFor.unusableSubject, tokenSent: true });
    });

    for (const testCase of cases) {
      it(`${testCase.title} (${mode.name})`, async () => {
        const token = await mode.sign(testCase.claims());
        const response = await mode.api().http.get(path).set('Authorization', `Bearer ${token}`);
        expectUnauthorized(response, { instance: path, type: testCase.type, tokenSent: true });
      });
    }
  }

  it('refuses a remembered token once its exp plus the clock tolerance has passed (the verified-token cache expires too)', async () => {
    // Expired 27 s ago: still inside the 30 s clock tolerance, so accepted (and remembered) now.
    const token = await hs256(validClaims(issuer, audience, { iat: nowSeconds() - 60, exp: nowSeconds() - 27 }));
    const accepted = await secretApi.http.get(path).set('Authorization', `Bearer ${token}`);
    expect(accepted.status, JSON.stringify(accepted.body)).to.equal(200);

    await new Promise((resolve) => setTimeout(resolve, 4_500));
    const response = await secretApi.http.get(path).set('Authorization', `Bearer ${token}`);
    expectUnauthorized(response, { instance: path, type: typeFor.expired, tokenSent: true });
  });

  it('refuses an HS256 token signed with another secret', async () => {
    const token = await hs256(validClaims(issuer, audience), `${testSecret}-but-not-quite`);
    const response = await secretApi.http.get(path).set('Authorization', `Bearer ${token}`);
    expectUnauthorized(response, { instance: path, type: typeFor.badSignature, tokenSent: true });
  });

  it('refuses an EdDSA token at an API that only has the HS256 secret', async () => {
    const token = await signClaims(trusted, validClaims(issuer, audience));
    const response = await secretApi.http.get(path).set('Authorization', `Bearer ${token}`);
    expectUnauthorized(response, { instance: path, type: typeFor.algorithm, tokenSent: true });
  });

  it('refuses an HS512 token signed with the right secret (HS256 is the only symmetric algorithm)', async () => {
    const token = await new SignJWT(validClaims(issuer, audience))
      .setProtectedHeader({ alg: 'HS512' })
      .sign(new TextEncoder().encode(testSecret));
    const response = await secretApi.http.get(path).set('Authorization', `Bearer ${token}`);
    expectUnauthorized(response, { instance: path, type: typeFor.algorithm, tokenSent: true });
  });
});
