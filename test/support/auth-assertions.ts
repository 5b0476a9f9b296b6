// Assertions for the answers of the auth layer: a 401 is a complete problem document plus an
// RFC 6750 challenge, with `error="invalid_token"` exactly when a token was sent.
import { expect } from 'chai';
import type { Response } from 'supertest';
import { expectTask, requestIdOf } from './tasks.ts';

export const detailFor = {
  missing: 'Send an access token: Authorization: Bearer <token>.',
  notBearer: 'The Authorization header must use the Bearer scheme: Bearer <token>.',
  malformed: 'The access token is not a well-formed JWT.',
  badSignature: 'The access token signature is not valid.',
  unknownKey: 'The access token was signed with a key this server does not know.',
  namesOwnKey: 'The access token names its own key (jwk, jku, x5u or x5c header); such tokens are not accepted.',
  algorithm: (alg: string) => `The access token's algorithm (${alg}) is not accepted by this server.`,
  expired: 'The access token has expired.',
  notYetValid: 'The access token is not valid yet (nbf claim).',
  issuedInFuture: 'The access token was issued in the future (iat claim).',
  issuer: 'The access token was issued by someone this server does not trust (iss claim).',
  audience: 'The access token is meant for another audience (aud claim).',
  noSubject: 'The access token has no subject (sub claim).',
  unusableSubject: 'The access token\'s subject (sub claim) is not a usable user id: at most 255 characters, no NUL.',
  noExpiry: 'The access token has no valid expiry (exp claim).',
  invalid: 'The access token is not valid.',
} as const;

export type Unauthorized = {
  /** The request path, which the problem names as `instance`. */
  readonly instance: string;
  readonly detail: string;
  /** Whether a Bearer token was sent (then the challenge carries `error="invalid_token"`). */
  readonly tokenSent: boolean;
  /** The challenge's error_description when it cannot be the detail with `"` turned into `'`. */
  readonly challengeDescription?: string;
};

export function expectUnauthorized(response: Response, expected: Unauthorized): void {
  expect(response.status, JSON.stringify(response.body)).to.equal(401);
  expect(response.headers['content-type']).to.equal('application/problem+json; charset=utf-8');
  expect(response.body).to.deep.equal({
    type: 'about:blank',
    title: 'Unauthorized',
    status: 401,
    detail: expected.detail,
    instance: expected.instance,
    request_id: requestIdOf(response),
  });
  const challenge = String(response.headers['www-authenticate']);
  expect(challenge).to.match(/^Bearer realm="tasks-api"/);
  if (expected.tokenSent) {
    const description = expected.challengeDescription ?? expected.detail.replaceAll('"', "'");
    expect(challenge).to.equal(`Bearer realm="tasks-api", error="invalid_token", error_description="${description}"`);
  } else {
    expect(challenge).to.equal('Bearer realm="tasks-api"');
  }
}

/** Every field of a task the API created just now for `userId` with only a title. */
export function expectNewTask(body: unknown, userId: string, title: string): void {
  const task = expectTask(body, { user_id: userId, title, description: null, status: 'pending', completed_at: null });
  expect(task.updated_at).to.equal(task.created_at);
  expect(Math.abs(Date.now() - Date.parse(task.created_at)), 'created_at is now').to.be.below(60_000);
}
