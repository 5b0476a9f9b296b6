// CORS for browser frontends: only origins on CORS_ORIGINS get CORS headers; preflights are
// answered before authentication, rate limits and the contract's 405; scripts may read the headers
// a frontend needs (Location, ETag, Link, Retry-After, X-Request-Id, the rate-limit headers).
import { expect } from 'chai';
import type { Response } from 'supertest';
import { newUser, sharedApi, startTestApi, type TestApi } from '../support/api.ts';
import { expectProblem } from '../support/tasks.ts';

const frontend = 'https://app.example.com';
const localFrontend = 'http://localhost:3000';
const exposed = 'Location,ETag,Link,Retry-After,X-Request-Id,RateLimit,RateLimit-Policy,WWW-Authenticate';

const corsHeaderNames = (response: Response) => Object.keys(response.headers).filter((name) => name.startsWith('access-control-')).sort();

function expectCorsFor(response: Response, origin: string): void {
  expect(response.headers['access-control-allow-origin']).to.equal(origin);
  expect(response.headers['access-control-expose-headers']).to.equal(exposed);
  // Bearer tokens, not cookies: credentials mode is never allowed.
  expect(response.headers['access-control-allow-credentials']).to.equal(undefined);
  expect(corsHeaderNames(response)).to.deep.equal(['access-control-allow-origin', 'access-control-expose-headers']);
  expect(String(response.headers.vary)).to.match(/\bOrigin\b/);
}

describe('CORS', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi({ corsOrigins: [frontend, localFrontend], rateLimits: { windowMs: 60_000, perUser: 1, perIp: 100 } });
  });
  after(async () => api?.close());

  it('answers a preflight from an allowed origin with 204, the methods, the request headers and a max age, without a token', async () => {
    for (const [origin, path, method] of [
      [frontend, '/api/tasks', 'POST'],
      [localFrontend, '/api/tasks/0b9f7d52-8c1e-4a57-9d43-2f6f1c7f2a10/complete', 'PATCH'],
      [frontend, '/api/someone/tasks/0b9f7d52-8c1e-4a57-9d43-2f6f1c7f2a10', 'DELETE'],
    ] as const) {
      const response = await api.http
        .options(path)
        .set('Origin', origin)
        .set('Access-Control-Request-Method', method)
        .set('Access-Control-Request-Headers', 'authorization, content-type, if-match, idempotency-key, x-request-id');
      expect(response.status, response.text).to.equal(204);
      expect(response.text).to.equal('');
      expect(response.headers['access-control-allow-origin']).to.equal(origin);
      expect(response.headers['access-control-allow-methods']).to.equal('GET,POST,PUT,PATCH,DELETE');
      expect(response.headers['access-control-allow-headers']).to.equal('Authorization,Content-Type,If-Match,If-None-Match,Idempotency-Key,X-Request-Id');
      expect(response.headers['access-control-max-age']).to.equal('600');
      expect(response.headers['access-control-allow-credentials']).to.equal(undefined);
      expect(response.headers['x-request-id']).to.be.a('string');
    }
  });

  it('gives an allowed origin its CORS headers on responses, including the exposed headers', async () => {
    const created = await api.http.post('/api/tasks').set('Origin', frontend).set('Authorization', (await newUser()).authorization).send({ title: 'From the browser' });
    expect(created.status, created.text).to.equal(201);
    expectCorsFor(created, frontend);
    expect(created.headers.location).to.equal(`/api/tasks/${created.body.id}`);
    expect(created.headers['ratelimit']).to.be.a('string');
  });

  it('lets a browser script read a refusal: 401 and 429 carry the CORS headers too', async () => {
    const unauthorized = await api.http.get('/api/tasks').set('Origin', frontend);
    expect(unauthorized.status).to.equal(401);
    expectCorsFor(unauthorized, frontend);
    const limitedUser = await newUser();
    expect((await api.http.get('/api/tasks').set('Origin', frontend).set('Authorization', limitedUser.authorization)).status).to.equal(200);
    const limited = await api.http.get('/api/tasks').set('Origin', frontend).set('Authorization', limitedUser.authorization);
    expect(limited.status).to.equal(429);
    expectCorsFor(limited, frontend);
    expect(limited.headers['retry-after']).to.match(/^[0-9]+$/);
  });

  it('gives an origin that is not on the list no CORS headers at all, and its preflight the contract\'s 405', async () => {
    for (const origin of ['https://evil.example', 'https://app.example.com.evil.example', 'http://app.example.com', 'null']) {
      // A fresh user each time: this API allows one request per user per minute.
      const response = await api.http.get('/api/tasks').set('Origin', origin).set('Authorization', (await newUser()).authorization);
      expect(response.status).to.equal(200);
      expect(corsHeaderNames(response), origin).to.deep.equal([]);
      const preflight = await api.http.options('/api/tasks').set('Origin', origin).set('Access-Control-Request-Method', 'POST');
      expectProblem(preflight, { type: 'method-not-allowed', instance: '/api/tasks' });
      expect(corsHeaderNames(preflight), origin).to.deep.equal([]);
    }
  });

  it('sends no CORS headers when CORS_ORIGINS is empty, whatever the origin', async () => {
    const withoutCors = await sharedApi();
    const response = await withoutCors.http.get('/api/tasks').set('Origin', frontend).set('Authorization', (await newUser()).authorization);
    expect(response.status).to.equal(200);
    expect(corsHeaderNames(response)).to.deep.equal([]);
    const preflight = await withoutCors.http.options('/api/tasks').set('Origin', frontend).set('Access-Control-Request-Method', 'GET');
    expect(preflight.status).to.equal(405);
    expect(corsHeaderNames(preflight)).to.deep.equal([]);
  });
});
