// Web Push: the operations a browser uses to subscribe (its PushSubscription.toJSON()), and one
// attempt to push a message to a subscription. The message is encrypted for the browser per RFC 8291
// (aes128gcm) and signed with the server's VAPID key per RFC 8292 by `web-push`; the HTTP call
// itself goes through the outbound guard (src/outbound.ts), like every call to a URL a user gave.
import { createHash } from 'node:crypto';
import type { AuthenticatedHandler, VapidKeys } from './contract.ts';
import {
  deletePushSubscriptionById,
  selectPushSubscriptions,
  upsertPushSubscription,
  type PushTarget,
} from './database/push-subscriptions.ts';
import { OutboundRefusedError, postGuarded, urlRefusalOf, type OutboundPolicy } from './outbound.ts';
import { ProblemError } from './problems.ts';

const pushNotConfigured = () => new ProblemError('push-not-configured', 'Web Push is not configured on this server.');
const pushSubscriptionNotFound = () => new ProblemError('push-subscription-not-found', 'Push subscription not found.');

/** How long a push service keeps a message for a browser that is offline. */
export const pushTtlSeconds = 12 * 3600;

const base64urlBytes = (value: string) => Buffer.from(value.replace(/=+$/, ''), 'base64url');

export const getPushPublicKey: AuthenticatedHandler<'getPushPublicKey'> = async (_input, { vapid }) => {
  if (!vapid) throw pushNotConfigured();
  return { status: 200, body: { public_key: vapid.publicKey } };
};

export const createPushSubscription: AuthenticatedHandler<'createPushSubscription'> = async (
  { ownerUserId, body, requestPath },
  { db, vapid, allowLoopback },
) => {
  if (!vapid) throw pushNotConfigured();
  const refusal = urlRefusalOf(body.endpoint, allowLoopback ?? false);
  if (refusal) {
    throw new ProblemError('push-endpoint-refused', `The push endpoint ${refusal}.`, {
      errors: [{ path: '/body/endpoint', keyword: 'invalid', message: `The push endpoint ${refusal}.` }],
    });
  }
  // RFC 8291: the browser's key is an uncompressed P-256 point, its secret 16 bytes.
  const p256dh = base64urlBytes(body.keys.p256dh);
  const auth = base64urlBytes(body.keys.auth);
  const errors = [
    ...(p256dh.length === 65 && p256dh[0] === 4 ? [] : [{ path: '/body/keys/p256dh', keyword: 'invalid' as const, message: 'Must be an uncompressed P-256 public key (65 bytes).' }]),
    ...(auth.length === 16 ? [] : [{ path: '/body/keys/auth', keyword: 'invalid' as const, message: 'Must be 16 bytes.' }]),
  ];
  if (errors.length > 0) throw new ProblemError('push-keys-invalid', 'The subscription keys are not what a browser sends.', { errors });
  const { created, ...row } = await upsertPushSubscription(db, ownerUserId, {
    endpoint: body.endpoint,
    p256dh: p256dh.toString('base64url'),
    auth: auth.toString('base64url'),
  });
  return created ? { status: 201, body: row, headers: { Location: `${requestPath}/${row.id}` } } : { status: 200, body: row };
};

export const listPushSubscriptions: AuthenticatedHandler<'listPushSubscriptions'> = async ({ ownerUserId }, { db }) => ({
  status: 200,
  body: [...(await selectPushSubscriptions(db, ownerUserId))],
});

export const deletePushSubscription: AuthenticatedHandler<'deletePushSubscription'> = async ({ ownerUserId, params }, { db }) => {
  if (!(await deletePushSubscriptionById(db, ownerUserId, params.subscription_id))) throw pushSubscriptionNotFound();
  return { status: 204 };
};

/** What one delivery attempt came to, for the worker to record and count. */
export type AttemptResult = {
  readonly kind: 'delivered' | 'retry' | 'failed' | 'gone' | 'refused';
  readonly statusCode: number | null;
  readonly error?: string;
};

/** The answer of a push service or webhook receiver, as an attempt result. */
export function resultOfStatus(status: number, body: string): AttemptResult {
  if (status >= 200 && status < 300) return { kind: 'delivered', statusCode: status };
  const error = `HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`;
  // Worth trying again later: the receiver is overloaded, down or timed out.
  if (status === 408 || status === 425 || status === 429 || status >= 500) return { kind: 'retry', statusCode: status, error };
  return { kind: 'failed', statusCode: status, error };
}

/** A thrown error (network, timeout, refusal) as an attempt result. */
export function resultOfError(error: unknown): AttemptResult {
  if (error instanceof OutboundRefusedError) return { kind: 'refused', statusCode: null, error: `refused: ${error.message}` };
  const name = (error as { name?: string }).name;
  const code = (error as { code?: string }).code;
  return { kind: 'retry', statusCode: null, error: name === 'TimeoutError' || name === 'AbortError' ? 'timed out' : (code ?? String(error)) };
}

/**
 * One push of `payload` to a subscription. The Topic header (RFC 8030 §5.4) is derived from the
 * delivery key, so a repeated attempt replaces an undelivered copy at the push service instead of
 * adding a second notification. 404 / 410: the subscription is gone (the caller deletes it).
 */
export async function pushOnce(
  target: PushTarget,
  payload: unknown,
  deliveryKey: string,
  vapid: VapidKeys,
  policy: OutboundPolicy,
): Promise<AttemptResult> {
  const topic = createHash('sha256').update(deliveryKey).digest('base64url').slice(0, 32);
  try {
    // Loaded on first use: it costs every start 0.1-0.5 s, and most processes never push.
    const webpush = (await import('web-push')).default;
    const details = webpush.generateRequestDetails(
      { endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } },
      JSON.stringify(payload),
      {
        vapidDetails: vapid,
        TTL: pushTtlSeconds,
        urgency: 'high',
        topic,
        contentEncoding: webpush.supportedContentEncodings.AES_128_GCM,
      },
    );
    const response = await postGuarded(details.endpoint, { headers: details.headers as Record<string, string>, body: details.body as Buffer }, policy);
    if (response.status === 404 || response.status === 410) return { kind: 'gone', statusCode: response.status, error: `HTTP ${response.status}: subscription gone` };
    return resultOfStatus(response.status, response.body);
  } catch (error) {
    return resultOfError(error);
  }
}
