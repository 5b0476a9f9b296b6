import { expect } from 'chai';
import { retryAfterSeconds } from '../../src/problems.ts';
import { sharedApi, startTestApi } from '../support/api.ts';
import { expectProblem, jsonContentType } from '../support/tasks.ts';

describe('ready', () => {
  it('answers 200 with status ok, without a token, while the database answers', async () => {
    const api = await sharedApi();

    const response = await api.http.get('/ready');

    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.equal(jsonContentType);
    expect(response.headers['retry-after']).to.equal(undefined);
    expect(response.body).to.deep.equal({ status: 'ok' });
  });

  it('answers 503 with a problem and Retry-After while the server is shutting down', async () => {
    const draining = await startTestApi({ isShuttingDown: () => true });
    try {
      const response = await draining.http.get('/ready');

      expectProblem(response, { type: 'shutting-down', instance: '/ready' });
      expect(response.headers['retry-after']).to.equal(retryAfterSeconds).and.match(/^[0-9]+$/);
    } finally {
      await draining.close();
    }
  });
});
