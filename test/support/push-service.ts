// A Web Push service on loopback, and the browser that subscribes to it, written from the RFCs with
// node:crypto only (independent of `web-push`, which the server uses): a wrong key, header,
// signature or encoding in what the server sends fails here.
// - RFC 8030: POST to the subscription's endpoint, TTL, Urgency, Topic headers; 201 on success.
// - RFC 8292: `Authorization: vapid t=<JWT>, k=<public key>`; the JWT is ES256, signed by that key,
//   `aud` the endpoint's origin, `exp` within 24 hours, `sub` a mailto: or https: URL.
// - RFC 8291 / RFC 8188: the body is aes128gcm, decrypted with the browser's private key and auth
//   secret (ECDH P-256, HKDF-SHA-256, AES-128-GCM).
import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A browser's side of one subscription: its key pair and auth secret (RFC 8291 §2). */
export type Browser = {
  readonly name: string;
  readonly endpoint: string;
  readonly privateKey: Buffer;
  readonly publicKey: Buffer;
  readonly auth: Buffer;
  /** What the browser's PushSubscription.toJSON() would give. */
  readonly subscription: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
};

export type ReceivedPush = {
  readonly browser: string;
  readonly payload: unknown;
  readonly headers: IncomingMessage['headers'];
  readonly vapid: { readonly claims: Record<string, unknown>; readonly publicKey: string };
  readonly at: number;
};

export type PushService = {
  readonly url: string;
  /** A new browser subscribed at this service (endpoint `<url>/push/<name>`). */
  readonly subscribe: (name: string) => Browser;
  /** Answers for a browser's next pushes, in order (then 201). */
  readonly answer: (name: string, ...statuses: number[]) => void;
  /** Hold every answer this long (an in-flight delivery, for the shutdown test). */
  readonly delay: (ms: number) => void;
  /** Every push decrypted and verified, in arrival order (refusals are in `errors`). */
  readonly received: ReceivedPush[];
  /** Every attempt, including those answered with an error status. */
  readonly attempts: { readonly browser: string; readonly at: number; readonly status: number }[];
  /** What failed a check (a test asserts this stays empty). */
  readonly errors: string[];
  readonly close: () => Promise<void>;
};

const hkdf = (salt: Buffer, ikm: Buffer, info: Buffer, length: number) => Buffer.from(hkdfSync('sha256', ikm, salt, info, length));

/** RFC 8291 §3.4 + RFC 8188 §2: one aes128gcm record, decrypted with the browser's keys. */
export function decryptAes128gcm(body: Buffer, browser: Pick<Browser, 'privateKey' | 'publicKey' | 'auth'>): Buffer {
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  const serverPublicKey = body.subarray(21, 21 + idLength);
  const ciphertext = body.subarray(21 + idLength);
  if (idLength !== 65) throw new Error(`keyid is ${idLength} bytes, not the 65 of an uncompressed P-256 key`);
  if (ciphertext.length > recordSize) throw new Error('more than one record');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(browser.privateKey);
  const sharedSecret = ecdh.computeSecret(serverPublicKey);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), browser.publicKey, serverPublicKey]);
  const ikm = hkdf(browser.auth, sharedSecret, keyInfo, 32);
  const contentKey = hkdf(salt, ikm, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const nonce = hkdf(salt, ikm, Buffer.from('Content-Encoding: nonce\0'), 12);
  const decipher = createDecipheriv('aes-128-gcm', contentKey, nonce);
  decipher.setAuthTag(ciphertext.subarray(-16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, -16)), decipher.final()]);
  // The last (here: only) record ends with the delimiter 0x02, then zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end -= 1;
  if (padded[end] !== 2) throw new Error('no last-record delimiter (0x02)');
  return padded.subarray(0, end);
}

/** RFC 8292: checks the vapid Authorization header; returns the JWT's claims and the key. */
export function verifyVapid(header: string | undefined, audience: string): { claims: Record<string, unknown>; publicKey: string } {
  const match = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(header ?? '');
  if (!match) throw new Error(`Authorization is not "vapid t=…, k=…": ${header}`);
  const [token, key] = [match[1]!, match[2]!];
  const [headerPart, claimsPart, signature] = token.split('.') as [string, string, string];
  const jose = JSON.parse(Buffer.from(headerPart, 'base64url').toString()) as Record<string, unknown>;
  if (jose.alg !== 'ES256') throw new Error(`JWT alg ${String(jose.alg)}, not ES256`);
  const point = Buffer.from(key, 'base64url');
  if (point.length !== 65 || point[0] !== 4) throw new Error('k is not an uncompressed P-256 public key');
  const publicKey = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
    format: 'jwk',
  });
  const valid = verify('sha256', Buffer.from(`${headerPart}.${claimsPart}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  if (!valid) throw new Error('the VAPID JWT signature does not verify with k');
  const claims = JSON.parse(Buffer.from(claimsPart, 'base64url').toString()) as Record<string, unknown>;
  const now = Date.now() / 1000;
  if (claims.aud !== audience) throw new Error(`aud ${String(claims.aud)}, not ${audience}`);
  if (typeof claims.exp !== 'number' || claims.exp <= now || claims.exp > now + 24 * 3600) throw new Error(`exp ${String(claims.exp)} not within 24 h`);
  if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) throw new Error(`sub ${String(claims.sub)}`);
  return { claims, publicKey: key };
}

export async function startPushService(): Promise<PushService> {
  const browsers = new Map<string, Browser>();
  const answers = new Map<string, number[]>();
  const received: ReceivedPush[] = [];
  const attempts: PushService['attempts'] = [];
  const errors: string[] = [];
  let delayMs = 0;

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const name = /^\/push\/([\w-]+)$/.exec(request.url ?? '')?.[1] ?? '';
      const browser = browsers.get(name);
      const status = answers.get(name)?.shift() ?? 201;
      attempts.push({ browser: name, at: Date.now(), status });
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      try {
        if (request.method !== 'POST') throw new Error(`method ${request.method}`);
        if (!browser) throw new Error(`no subscription at ${request.url}`);
        if (request.headers['content-encoding'] !== 'aes128gcm') throw new Error(`Content-Encoding ${request.headers['content-encoding']}`);
        if (!/^\d+$/.test(String(request.headers.ttl))) throw new Error(`TTL ${request.headers.ttl}`);
        if (!['very-low', 'low', 'normal', 'high'].includes(String(request.headers.urgency))) throw new Error(`Urgency ${request.headers.urgency}`);
        const topic = request.headers.topic;
        if (topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(String(topic))) throw new Error(`Topic ${topic}`);
        const vapid = verifyVapid(request.headers.authorization, new URL(browser.endpoint).origin);
        const payload = JSON.parse(decryptAes128gcm(Buffer.concat(chunks), browser).toString('utf8')) as unknown;
        if (status >= 200 && status < 300) received.push({ browser: name, payload, headers: request.headers, vapid, at: Date.now() });
        response.writeHead(status, { location: `${browser.endpoint}/messages/${received.length}` }).end();
      } catch (error) {
        errors.push(`${name}: ${(error as Error).message}`);
        response.writeHead(400).end((error as Error).message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    received,
    attempts,
    errors,
    subscribe: (name) => {
      const ecdh = createECDH('prime256v1');
      const publicKey = ecdh.generateKeys();
      const auth = randomBytes(16);
      const endpoint = `${url}/push/${name}`;
      const browser: Browser = {
        name,
        endpoint,
        privateKey: ecdh.getPrivateKey(),
        publicKey,
        auth,
        subscription: { endpoint, expirationTime: null, keys: { p256dh: publicKey.toString('base64url'), auth: auth.toString('base64url') } },
      };
      browsers.set(name, browser);
      return browser;
    },
    answer: (name, ...statuses) => void answers.set(name, statuses),
    delay: (ms) => void (delayMs = ms),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
