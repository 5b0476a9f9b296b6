// Assertions for the answers of the auth layer: a 401 is a complete problem document plus an
// RFC 6750 challenge, with `error="invalid_token"` exactly when a token was sent.
import { expect } from 'chai';
import type { Response } from 'supertest';
import type { ProblemSlug } from '../../src/problems.ts';
import { expectProblem, expectTask } from './tasks.ts';

/** The problem type of each way a token is refused (the contract's token-* types). */
export const typeFor = {
  missing: 'token-missing',
  notBearer: 'token-missing',
  malformed: 'token-malformed',
  badSignature: 'token-signature-invalid',
  unknownKey: 'token-key-unknown',
  namesOwnKey: 'token-key-embedded',
  algorithm: 'token-algorithm-refused',
  expired: 'token-expired',
  notYetValid: 'token-not-yet-valid',
  issuedInFuture: 'token-issue-time-invalid',
  issuer: 'token-issuer-refused',
  audience: 'token-audience-refused',
  noSubject: 'token-subject-invalid',
  unusableSubject: 'token-subject-invalid',
  noExpiry: 'token-expiry-missing',
  invalid: 'token-invalid',
} as const satisfies Record<string, ProblemSlug>;

export type Unauthorized = {
  /** The request path, which the problem names as `instance`. */
  readonly instance: string;
  readonly type: ProblemSlug;
  /** Whether a Bearer token was sent (then the challenge carries `error="invalid_token"`). */
  readonly tokenSent: boolean;
  /** The challenge's exact error_description, where the test is about how it is written. */
  readonly challengeDescription?: string;
};

/**
 * A whole 401 problem (see expectProblem) and its RFC 6750 challenge, whose error_description
 * repeats the detail in the header's character set.
 */
export function expectUnauthorized(response: Response, expected: Unauthorized): void {
  expectProblem(response, { type: expected.type, instance: expected.instance });
  const challenge = String(response.headers['www-authenticate']);
  expect(challenge).to.match(/^Bearer realm="tasks-api"/);
  if (expected.tokenSent) {
    const description = expected.challengeDescription ?? String(response.body.detail).replaceAll('"', "'");
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
