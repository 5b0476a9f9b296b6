// The real entry point (`node src/server.ts`) configured as an operator would: its stdout is the
// log, one JSON line per request, never a credential; and the operating settings (METRICS_TOKEN,
// CORS_ORIGINS, RATE_LIMIT_*, URL_LIMIT_BYTES) reach the app from the environment.
import { expect } from 'chai';
import { hs256Token, testSecret } from '../support/api.ts';
import { testDatabaseUrl } from '../support/database.ts';
import { cleanEnvironment, runNode, stopAll, type LogLine, type RunningProcess } from '../support/server-process.ts';

const listening = /^tasks-api listening on http:\/\/localhost:(\d+)$/;
const metricsToken = 'process-metrics-token-0123456789';
const frontend = 'https://app.example.com';

const call = (url: string, init: RequestInit = {}) => fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });

describe('the server process as operators see it', () => {
  let server: RunningProcess;
  let url: string;

  before(async () => {
    server = runNode(
      'src/server.ts',
      [],
      cleanEnvironment({
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: testDatabaseUrl(),
        BETTER_AUTH_SECRET: testSecret,
        PUSH: 'off',
        LOG_LEVEL: 'info',
        METRICS_TOKEN: metricsToken,
        CORS_ORIGINS: frontend,
        RATE_LIMIT_PER_USER: '3',
        URL_LIMIT_BYTES: '1024',
      }),
    );
    const line = await server.waitForLog((candidate) => listening.test(candidate.msg ?? ''), 15_000);
    url = `http://127.0.0.1:${listening.exec(line.msg!)![1]}`;
  });

  after(async () => stopAll());

  const linesOf = async (requestId: string): Promise<LogLine[]> => {
    await server.waitForLog((line) => line.request_id === requestId, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    return server.logs.filter((line) => line.request_id === requestId);
  };

  it('writes one JSON line per request to stdout and never the token, the Authorization header or a cookie', async () => {
    const userId = `process-log-${Date.now()}`;
    const token = await hs256Token(userId);
    const forged = `${token.slice(0, -4)}AAAA`;
    const created = await call(`${url}/api/tasks`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, Cookie: 'session=cookie-secret-value', 'Content-Type': 'application/json', 'X-Request-Id': 'proc-create' },
      body: JSON.stringify({ title: 'Logged' }),
    });
    expect(created.status).to.equal(201);
    expect(created.headers.get('x-request-id')).to.equal('proc-create');
    const refused = await call(`${url}/api/tasks`, { headers: { Authorization: `Bearer ${forged}`, 'X-Request-Id': 'proc-forged' } });
    expect(refused.status).to.equal(401);
    expect(((await refused.json()) as { request_id?: string }).request_id).to.equal('proc-forged');
    const scraped = await call(`${url}/metrics`, { headers: { Authorization: `Bearer ${metricsToken}`, 'X-Request-Id': 'proc-metrics' } });
    expect(scraped.status).to.equal(200);

    const [createdLine, ...moreCreated] = await linesOf('proc-create');
    expect(moreCreated).to.deep.equal([]);
    expect(createdLine).to.include({ level: 30, msg: 'request completed', method: 'POST', operation: 'createTask', path: '/api/tasks', status: 201, user_id: userId });
    expect(createdLine!.duration_ms).to.be.a('number');
    expect(await linesOf('proc-forged')).to.have.length(1);
    expect((await linesOf('proc-forged'))[0]).to.include({ operation: 'listTasks', status: 401 });
    expect((await linesOf('proc-metrics'))[0]).to.include({ operation: 'metrics', status: 200 });

    const output = server.stdout() + server.stderr();
    for (const secret of [token, forged, token.split('.')[2]!, 'cookie-secret-value', metricsToken, testSecret]) {
      expect(output, secret).not.to.include(secret);
    }
  });

  it('applies METRICS_TOKEN, CORS_ORIGINS, RATE_LIMIT_PER_USER and URL_LIMIT_BYTES from the environment', async () => {
    expect((await call(`${url}/metrics`)).status).to.equal(401);
    const metrics = await call(`${url}/metrics`, { headers: { Authorization: `Bearer ${metricsToken}` } });
    expect(await metrics.text()).to.include('# TYPE tasks_api_http_request_duration_seconds histogram');

    const token = await hs256Token(`process-limits-${Date.now()}`);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let index = 0; index < 4; index += 1) {
      last = await call(`${url}/api/tasks`, { headers: { Authorization: `Bearer ${token}`, Origin: frontend } });
      statuses.push(last.status);
    }
    expect(statuses).to.deep.equal([200, 200, 200, 429]);
    expect(last!.headers.get('access-control-allow-origin')).to.equal(frontend);
    expect(last!.headers.get('retry-after')).to.match(/^[0-9]+$/);
    expect(last!.headers.get('ratelimit')).to.match(/^"per-user"; r=0; t=\d+$/);

    const long = await call(`${url}/health?${'x'.repeat(1024)}`);
    expect(long.status).to.equal(414);
    expect(long.headers.get('content-type')).to.equal('application/problem+json; charset=utf-8');
  });
});
