import { expect } from 'chai';
import { sharedApi } from '../support/api.ts';

describe('health', () => {
  it('answers 200 with status ok and no token', async () => {
    const api = await sharedApi();
    const response = await api.http.get('/health');
    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.equal('application/json; charset=utf-8');
    expect(response.body).to.deep.equal({ status: 'ok' });
  });
});
