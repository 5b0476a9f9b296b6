// The contract's router (express-openapi-validator) finds each request's operation by trying the
// documented paths in order. Version 5.6.2 compiled a path-to-regexp matcher for every path it
// tried, on every request: a cost that grows with every path the contract gains. patches/ carries
// the upstream fix (https://github.com/cdimascio/express-openapi-validator/pull/1217, not in a
// release yet), which compiles each matcher once. With it, each lookup still walked the route map
// and built every route's matcher key on every request; the second patch
// (patches/express-openapi-validator+5.6.2+002+skip-per-request-contract-work.patch) lists the
// routes once. The first test fails without either patch.
import { createRequire } from 'node:module';
import { expect } from 'chai';
import { newUser, startTestApi, type TestApi } from '../support/api.ts';
import { callsAfterFirstRound, countCalls, type CallCount } from '../support/calls.ts';

// The path-to-regexp module the validator requires (it reads the export at every call).
const validatorRequire = createRequire(createRequire(import.meta.url).resolve('express-openapi-validator'));
const pathToRegexpModule = validatorRequire('path-to-regexp') as object;
// The validator's route maps, whose routePair the lookup called for every route it tried.
const openApiContext = createRequire(import.meta.url)('express-openapi-validator/dist/framework/openapi.context') as {
  OpenApiContext: { prototype: object };
};

describe('route lookup', () => {
  let api: TestApi | undefined;
  let counters: { compiles: CallCount; routePairs: CallCount } | undefined;

  beforeEach(() => {
    counters = {
      compiles: countCalls(pathToRegexpModule, 'pathToRegexp'),
      routePairs: countCalls(openApiContext.OpenApiContext.prototype, 'routePair'),
    };
  });

  afterEach(async () => {
    counters?.compiles.restore();
    counters?.routePairs.restore();
    await api?.close();
    api = undefined;
  });

  it('compiles the matcher of each documented path and lists the routes once, not again on every request', async () => {
    api = await startTestApi();
    const user = await newUser();
    const created = await api.http.post('/api/tasks').set('Authorization', user.authorization).send({ title: 'Routed' });
    expect(created.status, created.text).to.equal(201);
    const taskId = (created.body as { id: string }).id;
    // Routes early and late in the validator's order, with and without path parameters.
    const requests = [
      () => api!.http.get('/api/tasks'),
      () => api!.http.get(`/api/tasks/${taskId}`),
      () => api!.http.patch(`/api/tasks/${taskId}/complete`),
      () => api!.http.get('/api/tasks/changes'),
      () => api!.http.get(`/api/${user.id}/tasks/${taskId}`),
    ];
    const roundOfRequests = async () => {
      for (const send of requests) {
        const response = await send().set('Authorization', user.authorization);
        expect(response.status, response.text).to.equal(200);
      }
    };

    // Patch 001 makes the first 0, patch 002 the second.
    expect(await callsAfterFirstRound(roundOfRequests, counters!)).to.deep.equal({ compiles: 0, routePairs: 0 });
  });

  it('still routes each request to its own operation, path parameters included', async () => {
    api = await startTestApi();
    const user = await newUser();
    const created = await api.http.post('/api/tasks').set('Authorization', user.authorization).send({ title: 'Routed' });
    expect(created.status, created.text).to.equal(201);
    const taskId = (created.body as { id: string }).id;
    for (let round = 0; round < 3; round += 1) {
      const one = await api.http.get(`/api/tasks/${taskId}`).set('Authorization', user.authorization);
      expect(one.status, one.text).to.equal(200);
      expect(one.body).to.deep.equal(created.body);
      const summary = await api.http.get('/api/tasks/summary').set('Authorization', user.authorization);
      expect(summary.status, summary.text).to.equal(200);
      expect(summary.body).to.deep.equal({
        time_zone: 'UTC',
        total: 1,
        by_status: { pending: 1, in_progress: 0, completed: 0 },
        overdue: 0,
        due_today: 0,
      });
      const list = await api.http.get('/api/tasks').set('Authorization', user.authorization);
      expect(list.status, list.text).to.equal(200);
      expect(list.body).to.deep.equal([created.body]);
    }
  });
});
