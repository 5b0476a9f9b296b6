// A webhook receiver on loopback: it records every request and verifies each with the Standard
// Webhooks reference library (`standardwebhooks`), the way a customer's server would.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export type ReceivedWebhook = {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
  readonly status: number;
};

/** How one path answers its next requests, in order (then 204). */
export type Answer = number | { readonly redirectTo: string } | { readonly bodyBytes: number } | { readonly hangMs: number };

export type WebhookReceiver = {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  readonly answer: (path: string, ...answers: Answer[]) => void;
  /** The request's event, verified with the secret by the Standard Webhooks library (throws if it does not verify). */
  readonly verify: (request: ReceivedWebhook, secret: string) => { type: string; timestamp: string; data: unknown };
  readonly close: () => Promise<void>;
};

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const answers = new Map<string, Answer[]>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const path = request.url ?? '/';
      const answer = answers.get(path)?.shift() ?? 204;
      const status = typeof answer === 'number' ? answer : 'redirectTo' in answer ? 307 : 200;
      received.push({ path, headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now(), status });
      if (typeof answer === 'number') return response.writeHead(answer).end();
      if ('redirectTo' in answer) return response.writeHead(307, { location: answer.redirectTo }).end();
      if ('hangMs' in answer) {
        await new Promise((resolve) => setTimeout(resolve, answer.hangMs));
        return response.writeHead(200).end();
      }
      response.writeHead(200, { 'content-type': 'text/plain' });
      // A large answer, written in pieces: the sender must stop reading it.
      const piece = Buffer.alloc(64 * 1024, 'x');
      for (let sent = 0; sent < answer.bodyBytes && !response.destroyed; sent += piece.length) {
        if (!response.write(piece)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              response.off('drain', done).off('close', done);
              resolve();
            };
            response.on('drain', done).on('close', done);
          });
        }
      }
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    answer: (path, ...list) => void answers.set(path, list),
    verify: (request, secret) =>
      new Webhook(secret).verify(request.body, {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      }) as { type: string; timestamp: string; data: unknown },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
