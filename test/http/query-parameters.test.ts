// The contract's validator (express-openapi-validator 5.6.2) reshapes each request's parameters
// before validating them (modifyRequest). On every request it parsed the URL with the legacy
// url.parse just to read the query string, and derived each documented parameter of the operation
// again from the contract (dereferenceParameter, normalizeParameter): work that depends on the
// contract only. patches/express-openapi-validator+5.6.2+002+skip-per-request-contract-work.patch
// does it once per parameter and reads the query string without url.parse; the first test fails
// without it. The others pin what the API answered before that patch, odd URLs included, so that
// any change in behaviour fails too.
import http from 'node:http';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import type { Response } from 'supertest';
import type { Task } from '../../src/contract.ts';
import { newUser, sharedApi, startTestApi, type TestApi, type TestUser } from '../support/api.ts';
import { callsAfterFirstRound, countCalls, type CallCount } from '../support/calls.ts';
import { bearer, createTaskAs, expectContractViolation, type ExpectedFieldError } from '../support/tasks.ts';

// The modules the validator reads these functions from at every call (so wrapping the export counts).
const requireHere = createRequire(import.meta.url);
const parserUtil = requireHere('express-openapi-validator/dist/middlewares/parsers/util') as object;
const urlModule = requireHere('node:url') as object;

/** A GET sent as these exact bytes (supertest would drop a `#fragment`), answered like supertest's. */
async function rawGet(api: TestApi, path: string, user: TestUser): Promise<Response> {
  const { hostname, port } = new URL(api.url);
  return new Promise((resolve, reject) => {
    const request = http.request({ hostname, port, path, method: 'GET', headers: bearer(user) }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, text, body: JSON.parse(text) } as unknown as Response));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('query parameters', () => {
  describe('the validator per request', () => {
    let api: TestApi | undefined;
    let counters: Record<'dereferenceParameter' | 'normalizeParameter' | 'urlParse', CallCount> | undefined;

    beforeEach(() => {
      counters = {
        dereferenceParameter: countCalls(parserUtil, 'dereferenceParameter'),
        normalizeParameter: countCalls(parserUtil, 'normalizeParameter'),
        // Only the parses of a request's URL (path and query).
        urlParse: countCalls(urlModule, 'parse', ([url]) => typeof url === 'string' && url.startsWith('/api/')),
      };
    });

    afterEach(async () => {
      for (const counter of Object.values(counters ?? {})) counter.restore();
      await api?.close();
      api = undefined;
    });

    it('derives each documented parameter once and parses no URL again on later requests', async () => {
      api = await startTestApi();
      const user = await newUser();
      const task = await createTaskAs(api, user, { title: 'Filtered', priority: 'high', tags: ['work'] });
      // Operations with many query parameters, path parameters and header parameters.
      const requests = [
        () => api!.http.get('/api/tasks?status=pending&priority=high&tag=work&completed=false&sort=-created_at&limit=5'),
        () => api!.http.get('/api/tasks?q=filt&overdue=false&list_id=inbox&offset=0'),
        () => api!.http.get(`/api/tasks/${task.id}`),
        () => api!.http.get('/api/tasks/changes?limit=10'),
        () => api!.http.get('/api/tasks/summary?tz=Europe%2FParis&list_id=inbox'),
      ];
      const roundOfRequests = async () => {
        for (const send of requests) {
          const response = await send().set(bearer(user));
          expect(response.status, response.text).to.equal(200);
        }
      };

      expect(await callsAfterFirstRound(roundOfRequests, counters!)).to.deep.equal({ dereferenceParameter: 0, normalizeParameter: 0, urlParse: 0 });
    });
  });

  describe('validate and coerce as before', () => {
    // What GET /api/tasks answered for each query before the patch (and answers now).
    const refused: readonly { readonly query: string; readonly errors: readonly ExpectedFieldError[] }[] = [
      { query: '?limit=abc', errors: [{ path: '/query/limit', keyword: 'wrong_type' }] },
      { query: '?limit=1%3A2', errors: [{ path: '/query/limit', keyword: 'wrong_type' }] },
      { query: '?limit=2&limit=3', errors: [{ path: '/query/limit', keyword: 'wrong_type' }] },
      { query: '?limit[a]=1', errors: [{ path: '/query/limit', keyword: 'wrong_type' }] },
      { query: '?limit=%ZZ', errors: [{ path: '/query/limit', keyword: 'wrong_type' }] },
      // A reserved character unencoded in a parameter without allowReserved.
      { query: '?limit=1:2', errors: [{ path: '/query/limit', keyword: 'invalid' }] },
      { query: '?sort=title!', errors: [{ path: '/query/sort', keyword: 'invalid' }] },
      { query: '??limit=1:2', errors: [{ path: '/query/limit', keyword: 'invalid' }] },
      // A comma is reserved too in an exploded parameter: status and list_id are not comma lists.
      { query: '?status=pending,completed', errors: [{ path: '/query/status', keyword: 'invalid' }] },
      { query: '?list_id=inbox,inbox', errors: [{ path: '/query/list_id', keyword: 'invalid' }] },
      // The validator's reserved-character check drops the query's second "?" (as url.parse kept it).
      { query: '?limit=1?x', errors: [{ path: '/query/limit', keyword: 'wrong_type' }] },
    ];
    for (const { query, errors } of refused) {
      it(`refuses ?${query.slice(1)} naming the parameter`, async () => {
        const api = await sharedApi();
        const user = await newUser();

        expectContractViolation(await rawGet(api, `/api/tasks${query}`, user), '/api/tasks', errors);
      });
    }

    it('takes repeated parameters as arrays, coerces numbers and booleans, and lets tags hold reserved characters', async () => {
      const api = await sharedApi();
      const user = await newUser();
      const older = await createTaskAs(api, user, { title: 'Older', priority: 'high', tags: ['a:b', 'c'] });
      const newer = await createTaskAs(api, user, { title: 'Newer', priority: 'low' });
      const answers: Record<string, readonly Task[]> = {
        '?status=pending&status=completed': [newer, older],
        '?priority=high&priority=medium': [older],
        '?tag=a:b&tag=c': [older],
        '?completed=false&overdue=false&limit=1': [newer],
        '?': [newer, older],
        // url.parse's query ends at a fragment: the "1" is the limit, "#a:b" is no part of it.
        '?limit=1#a:b': [newer],
      };
      for (const [query, tasks] of Object.entries(answers)) {
        const response = await rawGet(api, `/api/tasks${query}`, user);
        expect(response.status, `${query}: ${response.text}`).to.equal(200);
        expect(response.body, query).to.deep.equal(tasks);
      }
    });
  });
});
