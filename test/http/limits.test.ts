// Limits decided per request: rate limits per verified user and per client address (429 with
// Retry-After and the IETF RateLimit headers), and the URL length (414). Every refusal is a
// problem+json. Windows are a minute long, so nothing here depends on timing.
import { expect } from 'chai';
import type { Response } from 'supertest';
import { hs256Token, newUser, sharedApi, startTestApi, type TestApi } from '../support/api.ts';
import { expectProblem, requestIdOf } from '../support/tasks.ts';

const window = { windowMs: 60_000 };

function expectRateLimitHeaders(response: Response, policy: 'per-user' | 'per-ip', limit: number, remaining: number): void {
  expect(response.headers['ratelimit'], 'RateLimit').to.match(new RegExp(`^"${policy}"; r=${remaining}; t=([1-9]|[1-5][0-9]|60)$`));
  expect(response.headers['ratelimit-policy'], 'RateLimit-Policy').to.match(new RegExp(`^"${policy}"; q=${limit}; w=60; pk=:[A-Za-z0-9+/=]+:$`));
  // Only the IETF headers: no X-RateLimit-* leftovers.
  expect(Object.keys(response.headers).filter((name) => name.startsWith('x-ratelimit'))).to.deep.equal([]);
}

function expectTooManyRequests(response: Response, instance: string, policy: 'per-user' | 'per-ip', limit: number): void {
  expectProblem(response, { type: 'rate-limited', instance });
  expect(Number(response.headers['retry-after']), 'Retry-After').to.be.within(1, 60);
  expect(response.headers['retry-after']).to.match(/^[0-9]+$/);
  expectRateLimitHeaders(response, policy, limit, 0);
}

describe('per-user rate limits', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi({ rateLimits: { ...window, perUser: 3, perIp: 1_000 } });
  });
  after(async () => api?.close());

  it('answers 429 with Retry-After and RateLimit headers once a user has spent the limit, while another user is unaffected', async () => {
    const user = await newUser();
    const other = await newUser();
    for (const remaining of [2, 1, 0]) {
      const response = await api.http.get('/api/tasks').set('Authorization', user.authorization);
      expect(response.status, response.text).to.equal(200);
      expectRateLimitHeaders(response, 'per-user', 3, remaining);
    }
    const limited = await api.http.post('/api/tasks').set('Authorization', user.authorization).send({ title: 'One too many' });
    expectTooManyRequests(limited, '/api/tasks', 'per-user', 3);
    expect(limited.body.request_id).to.equal(requestIdOf(limited));
    // The refused write did not happen.
    const otherResponse = await api.http.get('/api/tasks').set('Authorization', other.authorization);
    expect(otherResponse.status).to.equal(200);
    expect(otherResponse.body).to.deep.equal([]);
    expectRateLimitHeaders(otherResponse, 'per-user', 3, 2);
    // The same user under the user-scoped paths shares the same budget.
    const scoped = await api.http.get(`/api/${user.id}/tasks`).set('Authorization', user.authorization);
    expectTooManyRequests(scoped, `/api/${user.id}/tasks`, 'per-user', 3);
  });

  it('keys by the verified subject, so a user cannot reset the budget with new tokens or spend another user\'s', async () => {
    const user = await newUser();
    for (let index = 0; index < 3; index += 1) {
      expect((await api.http.get('/api/tasks').set('Authorization', user.authorization)).status).to.equal(200);
    }
    const freshToken = await hs256Token(user.id, { expiresIn: 600 });
    const limited = await api.http.get('/api/tasks').set('Authorization', `Bearer ${freshToken}`);
    expectTooManyRequests(limited, '/api/tasks', 'per-user', 3);
    // Requests that never authenticate do not count against anyone's user budget.
    const fresh = await newUser();
    for (let index = 0; index < 5; index += 1) {
      expect((await api.http.get('/api/tasks').set('Authorization', 'Bearer not-a-jwt')).status).to.equal(401);
    }
    const response = await api.http.get('/api/tasks').set('Authorization', fresh.authorization);
    expect(response.status).to.equal(200);
    expectRateLimitHeaders(response, 'per-user', 3, 2);
  });
});

describe('per-address rate limits', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi({ rateLimits: { ...window, perUser: 1_000, perIp: 2 } });
  });
  after(async () => api?.close());

  it('answers 429 on the routes without a token once an address has spent the limit, and leaves authenticated users alone', async () => {
    for (const remaining of [1, 0]) {
      const response = await api.http.get('/health');
      expect(response.status).to.equal(200);
      expectRateLimitHeaders(response, 'per-ip', 2, remaining);
    }
    expectTooManyRequests(await api.http.get('/ready'), '/ready', 'per-ip', 2);
    expectTooManyRequests(await api.http.get('/health'), '/health', 'per-ip', 2);
    // Same address, but a verified user: counted against the user instead.
    const user = await newUser();
    const response = await api.http.get('/api/tasks').set('Authorization', user.authorization);
    expect(response.status).to.equal(200);
    expectRateLimitHeaders(response, 'per-user', 1_000, 999);
  });
});

describe('the client address behind a proxy (TRUST_PROXY)', () => {
  it('ignores X-Forwarded-For unless the proxy is trusted, and then limits each forwarded address on its own', async () => {
    const untrusting = await startTestApi({ rateLimits: { ...window, perUser: 1_000, perIp: 1 } });
    const trusting = await startTestApi({ rateLimits: { ...window, perUser: 1_000, perIp: 1 }, trustProxy: 'loopback' });
    try {
      // Not trusted: a client cannot pick a new address per request to escape its limit.
      expect((await untrusting.http.get('/health').set('X-Forwarded-For', '203.0.113.1')).status).to.equal(200);
      expect((await untrusting.http.get('/health').set('X-Forwarded-For', '203.0.113.2')).status).to.equal(429);
      // Trusted loopback proxy: each forwarded client has its own budget.
      expect((await trusting.http.get('/health').set('X-Forwarded-For', '203.0.113.1')).status).to.equal(200);
      expect((await trusting.http.get('/health').set('X-Forwarded-For', '203.0.113.2')).status).to.equal(200);
      expect((await trusting.http.get('/health').set('X-Forwarded-For', '203.0.113.1')).status).to.equal(429);
    } finally {
      await untrusting.close();
      await trusting.close();
    }
  });
});

describe('rate limits turned off', () => {
  it('sends no RateLimit headers and never 429 when a limit is 0', async () => {
    const api = await startTestApi({ rateLimits: { ...window, perUser: 0, perIp: 0 } });
    try {
      const user = await newUser();
      for (let index = 0; index < 5; index += 1) {
        const health = await api.http.get('/health');
        const list = await api.http.get('/api/tasks').set('Authorization', user.authorization);
        expect([health.status, list.status]).to.deep.equal([200, 200]);
        expect([health.headers['ratelimit'], list.headers['ratelimit'], list.headers['ratelimit-policy']]).to.deep.equal([undefined, undefined, undefined]);
      }
    } finally {
      await api.close();
    }
  });
});

describe('the URL length limit', () => {
  it('answers 414 problem+json to a request target longer than the limit, with or without a token', async () => {
    const api = await sharedApi();
    const user = await newUser();
    // 8192 bytes in all: path and query string.
    const base = '/api/tasks?limit=10&pad=';
    const atLimit = base + 'x'.repeat(8_192 - base.length);
    const overLimit = `${atLimit}x`;
    const allowed = await api.http.get(atLimit).set('Authorization', user.authorization);
    expect(allowed.status, allowed.text).not.to.equal(414);
    for (const request of [api.http.get(overLimit).set('Authorization', user.authorization), api.http.get(overLimit), api.http.post(overLimit).send({ title: 'x' })]) {
      expectProblem(await request, { type: 'uri-too-long', instance: '/api/tasks' });
    }
  });

  it('follows a configured limit', async () => {
    const api = await startTestApi({ urlLimitBytes: 300 });
    try {
      const atLimit = `/${'x'.repeat(299)}`;
      expectProblem(await api.http.get(atLimit), { type: 'path-not-found', instance: atLimit });
      expectProblem(await api.http.get(`${atLimit}x`), { type: 'uri-too-long', instance: `${atLimit}x` });
    } finally {
      await api.close();
    }
  });
});
