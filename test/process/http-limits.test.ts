// The HTTP server's own limits, on the real process with short configured values: an oversized
// header block is a 431 problem (not a crash), a client that never finishes its headers (slow
// loris) or its body is cut off with 408 once its timeout passes, and an idle keep-alive connection
// lives for HTTP_KEEP_ALIVE_TIMEOUT_SECONDS, not the shorter headers timeout, so a load balancer
// reusing it after a pause is never refused.
import net from 'node:net';
import { expect } from 'chai';
import { startApiProcess, withoutDetail, type ApiProcess } from '../support/api-process.ts';
import { testSecret } from '../support/api.ts';
import { testDatabaseUrl } from '../support/database.ts';
import { stopAll } from '../support/server-process.ts';

type RawConnection = {
  readonly socket: net.Socket;
  readonly received: () => string;
  /** When the server closed the connection (performance.now()). */
  readonly closed: Promise<number>;
  /** Resolves once `text` has been received in total. */
  readonly waitFor: (text: RegExp, timeoutMs: number) => Promise<void>;
};

async function connect(url: string): Promise<RawConnection> {
  const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
  let received = '';
  const listeners = new Set<() => void>();
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    received += chunk;
    listeners.forEach((listener) => listener());
  });
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
  await new Promise((resolve) => socket.once('connect', resolve));
  return {
    socket,
    received: () => received,
    closed,
    waitFor: (text, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not received within ${timeoutMs} ms: ${text}; got ${JSON.stringify(received)}`)), timeoutMs);
        const check = () => {
          if (!text.test(received)) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
        check();
      }),
  };
}

/** Splits one raw HTTP/1.1 response into status, headers (lower-case names) and body. */
function parseResponse(raw: string) {
  const [head, ...rest] = raw.split('\r\n\r\n');
  const [statusLine, ...headerLines] = head!.split('\r\n');
  const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { statusLine, headers, body: rest.join('\r\n\r\n') };
}

const healthRequest = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';

describe('the HTTP server limits', () => {
  let api: ApiProcess;

  before(async function () {
    this.timeout(60_000);
    api = await startApiProcess({
      DATABASE_URL: testDatabaseUrl(),
      BETTER_AUTH_SECRET: testSecret,
      HTTP_MAX_HEADER_BYTES: '4096',
      HTTP_HEADERS_TIMEOUT_SECONDS: '1',
      HTTP_REQUEST_TIMEOUT_SECONDS: '2',
      HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '5',
    });
  });

  after(async () => {
    await stopAll();
  });

  it('answers a header block larger than HTTP_MAX_HEADER_BYTES with a 431 problem, closes that connection, and keeps serving', async () => {
    const connection = await connect(api.url);
    connection.socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(5_000)}\r\n\r\n`);
    await connection.closed;

    const response = parseResponse(connection.received());
    expect(response.statusLine).to.equal('HTTP/1.1 431 Request Header Fields Too Large');
    expect(response.headers).to.include({ 'content-type': 'application/problem+json', connection: 'close' });
    expect(withoutDetail(JSON.parse(response.body))).to.deep.equal({
      type: '/problems/headers-too-large',
      title: 'Request headers too large',
      status: 431,
    });
    expect((await fetch(`${api.url}/health`, { signal: AbortSignal.timeout(10_000) })).status).to.equal(200);
    expect(api.run.exited()).to.equal(undefined);
  });

  it('serves a header block just under HTTP_MAX_HEADER_BYTES', async () => {
    const response = await fetch(`${api.url}/health`, { headers: { 'x-padding': 'a'.repeat(3_500) }, signal: AbortSignal.timeout(10_000) });
    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ status: 'ok' });
  });

  it('cuts off a client that trickles its headers and never ends them, with a 408 problem, once HTTP_HEADERS_TIMEOUT_SECONDS has passed', async () => {
    const connection = await connect(api.url);
    const startedAt = performance.now();
    connection.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // One more header line every 200 ms: the connection is never idle, the headers never end.
    const trickle = setInterval(() => connection.socket.writable && connection.socket.write('X-Slow: still-coming\r\n'), 200);
    try {
      const closedAt = await connection.closed;
      const response = parseResponse(connection.received());
      expect(response.statusLine).to.equal('HTTP/1.1 408 Request Timeout');
      expect(withoutDetail(JSON.parse(response.body))).to.deep.equal({
        type: '/problems/request-timeout',
        title: 'Request did not arrive in time',
        status: 408,
      });
      // Configured 1 s (checked every 0.5 s); generous for a loaded machine, far below a hang.
      expect(closedAt - startedAt).to.be.within(900, 10_000);
      if (process.env.TEST_TIMINGS) console.log(`      slow-loris cut off after ${Math.round(closedAt - startedAt)} ms`);
    } finally {
      clearInterval(trickle);
    }
  });

  it('cuts off a client whose body never finishes arriving, with a 408 problem, once HTTP_REQUEST_TIMEOUT_SECONDS has passed', async () => {
    const connection = await connect(api.url);
    const startedAt = performance.now();
    connection.socket.write('POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title":');
    const closedAt = await connection.closed;

    const response = parseResponse(connection.received());
    expect(response.statusLine).to.equal('HTTP/1.1 408 Request Timeout');
    expect(JSON.parse(response.body)).to.include({ status: 408, type: '/problems/request-timeout' });
    expect(closedAt - startedAt).to.be.within(1_900, 12_000);
  });

  it('keeps an idle keep-alive connection open past the headers timeout and closes it only after HTTP_KEEP_ALIVE_TIMEOUT_SECONDS', async function () {
    this.timeout(30_000);
    const connection = await connect(api.url);
    connection.socket.write(healthRequest);
    await connection.waitFor(/\{"status":"ok"\}$/, 10_000);
    // Idle for longer than the 1 s headers timeout, then reused (as a load balancer does).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    connection.socket.write(healthRequest);
    await connection.waitFor(/\{"status":"ok"\}[^]*\{"status":"ok"\}$/, 10_000);
    const answeredAt = performance.now();
    const closedAt = await connection.closed;

    expect(connection.received().match(/HTTP\/1\.1 200 OK\r\n/g)).to.have.length(2);
    expect(connection.received()).to.include('\r\nKeep-Alive: timeout=5\r\n');
    // The server closes it 5 s after the last response: never sooner (a load balancer may be
    // sending on it), and on a loaded machine perhaps somewhat later.
    expect(closedAt - answeredAt).to.be.within(4_900, 20_000);
  });
});
