// Keys and tokens the tests control: asymmetric signing keys made with jose, a tiny JWKS HTTP
// server on 127.0.0.1 whose key set (or whole answer) can be changed while the API runs, and a
// helper that signs arbitrary headers and claims, so forged and broken tokens can be built exactly.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export type TestSigningKey = {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** The public key as it is published in a JWKS (with `kid`, `alg` and `use`). */
  readonly publicJwk: JWK;
};

export async function newSigningKey(alg = 'EdDSA', kid: string = randomUUID()): Promise<TestSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, publicJwk };
}

export type TokenOptions = {
  /** Extra protected-header parameters (`jku`, `jwk`, `crit`, …); `alg` and `kid` come from the key unless given here. */
  readonly header?: Record<string, unknown>;
  /** Header parameters to let jose sign under `crit` (it refuses unknown critical ones otherwise). */
  readonly crit?: Record<string, boolean>;
};

/** Signs exactly `claims` (no defaults are added) with the key, `alg`/`kid` from the key. */
export async function signClaims(key: TestSigningKey, claims: JWTPayload, options: TokenOptions = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...options.header })
    .sign(key.privateKey, options.crit ? { crit: options.crit } : undefined);
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

type JwksAnswer = { readonly status: number; readonly body: string };

export type JwksServer = {
  readonly url: string;
  /** Where the key set is served; any other path is also answered, and counted. */
  readonly jwksUrl: URL;
  /** How many requests (any path) the server has received so far. */
  readonly requestCount: () => number;
  /** Replaces the published key set. */
  readonly publish: (keys: readonly TestSigningKey[]) => void;
  /** Answers every request with this status and raw body until `publish` is called again. */
  readonly answerWith: (status: number, body: string) => void;
  readonly close: () => Promise<void>;
};

export async function startJwksServer(keys: readonly TestSigningKey[] = []): Promise<JwksServer> {
  let answer: JwksAnswer;
  let requests = 0;
  const publish = (published: readonly TestSigningKey[]) => {
    answer = { status: 200, body: JSON.stringify({ keys: published.map((key) => key.publicJwk) }) };
  };
  publish(keys);
  const server: Server = createServer((request, response) => {
    requests += 1;
    request.resume();
    response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    jwksUrl: new URL(`${url}/api/auth/jwks`),
    requestCount: () => requests,
    publish,
    answerWith: (status, body) => {
      answer = { status, body };
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A loopback URL nothing listens on (a port that was just free): connecting to it is refused. */
export async function refusedUrl(path = '/api/auth/jwks'): Promise<URL> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return new URL(`http://127.0.0.1:${port}${path}`);
}
