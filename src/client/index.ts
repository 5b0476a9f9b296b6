// The typed client for frontends: `import { createTasksClient } from 'tasks-api/client'`. Its types
// are the contract's (generated/, shipped inside the package), so every operation, parameter, body
// and response of openapi/tasks-api.yaml is typed with no hand-written copy, and errors are the
// contract's Problem. openapi-fetch does the requests; this file adds only the bearer token.
import createClient, { type Client } from 'openapi-fetch';
import type { components, operations, paths } from '../../generated/tasks-api.js';

export type { components, operations, paths };
export type Task = components['schemas']['Task'];
/** The RFC 9457 problem document every error response of the API carries. */
export type Problem = components['schemas']['Problem'];
/**
 * Every problem `type` the API answers with (`'/problems/task-not-found' | …`): switch on
 * `error.type`, never on the wording of `detail`. Each value is documented in the contract's
 * ProblemType schema and at its own URL on the API (`GET /problems/{slug}`).
 */
export type ProblemType = components['schemas']['ProblemType'];
export type TasksClient = Client<paths>;

export type TasksClientOptions = {
  /** Where the API is served, e.g. `https://api.example.com` (the contract's paths start with `/api`). */
  readonly baseUrl: string;
  /**
   * The caller's current access token, or null when signed out (the request then goes without
   * one and its 401 is returned at once). Called before every request and once more after a 401
   * to a request that carried a token, so it must return a fresh token when the previous one has
   * expired. With Better Auth:
   * `getToken: async () => (await authClient.token()).data?.token ?? null`.
   */
  readonly getToken: () => Promise<string | null>;
  /** A fetch to use instead of the global one (tests, instrumentation). */
  readonly fetch?: (request: Request) => Promise<Response>;
};

export function createTasksClient(options: TasksClientOptions): TasksClient {
  const send = options.fetch ?? ((request: Request) => globalThis.fetch(request));

  function withToken(request: Request, token: string | null): Request {
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    else request.headers.delete('Authorization');
    return request;
  }

  // One retry, and only after a 401 to a request that carried a token: that token may have expired
  // between getToken and the server (Better Auth's tokens live 15 minutes). A request sent without
  // one (signed out) is answered as is: asking again would only repeat the 401. The body was read
  // by the first attempt, so the retry sends a copy taken before it.
  async function authorizedFetch(request: Request): Promise<Response> {
    const token = await options.getToken();
    const spare = token ? request.clone() : undefined;
    const response = await send(withToken(request, token));
    if (response.status !== 401 || !spare) return response;
    // Read the refused answer to its end rather than cancel it: the browser then records one
    // finished request, not a cancelled one, and can reuse the connection.
    await response.arrayBuffer();
    return send(withToken(spare, await options.getToken()));
  }

  return createClient<paths>({ baseUrl: options.baseUrl, fetch: authorizedFetch });
}
