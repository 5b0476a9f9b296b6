// Webhooks (Standard Webhooks, https://www.standardwebhooks.com): the operations to manage them,
// the events task writes put in the outbox, and one signed delivery attempt.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { CommonQueryMethods } from 'slonik';
import type { AuthenticatedHandler } from './contract.ts';
import { insertTaskEventDeliveries, insertWebhookTestDelivery, selectWebhookDeliveries } from './database/deliveries.ts';
import {
  deleteWebhookById,
  insertWebhook,
  selectWebhookById,
  selectWebhooks,
  updateWebhookById,
  type WebhookTarget,
} from './database/webhooks.ts';
import { postGuarded, refusalOf, urlRefusalOf, type OutboundPolicy } from './outbound.ts';
import { ProblemError } from './problems.ts';
import { resultOfError, type AttemptResult } from './push.ts';

export type TaskEventType = 'task.created' | 'task.updated' | 'task.completed' | 'task.deleted';

const webhookNotFound = () => new ProblemError('webhook-not-found', 'Webhook not found.');

/**
 * Refuses a URL that could never be delivered to (not https; an IP literal on a loopback, private,
 * link-local or metadata address). A host name is resolved and checked again at every delivery.
 */
function checkWebhookUrl(url: string, allowLoopback: boolean): void {
  const refusal = urlRefusalOf(url, allowLoopback) ?? literalAddressRefusal(url, allowLoopback);
  if (refusal) {
    throw new ProblemError('webhook-url-refused', `The webhook URL ${refusal}.`, {
      errors: [{ path: '/body/url', keyword: 'invalid', message: `The webhook URL ${refusal}.` }],
    });
  }
}

function literalAddressRefusal(url: string, allowLoopback: boolean): string | undefined {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost' || host.endsWith('.localhost')) return allowLoopback ? undefined : 'names a loopback host';
  return isIP(host) ? refusalOf(host, allowLoopback) && `names an address that ${refusalOf(host, allowLoopback)}` : undefined;
}

export const createWebhook: AuthenticatedHandler<'createWebhook'> = async ({ ownerUserId, body, requestPath }, { db, allowLoopback }) => {
  checkWebhookUrl(body.url, allowLoopback ?? false);
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const row = await insertWebhook(db, ownerUserId, { url: body.url, events: body.events, secret });
  return { status: 201, body: { ...row, secret }, headers: { Location: `${requestPath}/${row.id}` } };
};

export const listWebhooks: AuthenticatedHandler<'listWebhooks'> = async ({ ownerUserId }, { db }) => ({
  status: 200,
  body: [...(await selectWebhooks(db, ownerUserId))],
});

export const getWebhook: AuthenticatedHandler<'getWebhook'> = async ({ ownerUserId, params }, { db }) => {
  const row = await selectWebhookById(db, ownerUserId, params.webhook_id);
  if (!row) throw webhookNotFound();
  return { status: 200, body: row };
};

export const updateWebhook: AuthenticatedHandler<'updateWebhook'> = async ({ ownerUserId, params, body }, { db, allowLoopback }) => {
  if (body.url !== undefined) checkWebhookUrl(body.url, allowLoopback ?? false);
  const row = await updateWebhookById(db, ownerUserId, params.webhook_id, { url: body.url, events: body.events, enable: body.enabled });
  if (!row) throw webhookNotFound();
  return { status: 200, body: row };
};

export const deleteWebhook: AuthenticatedHandler<'deleteWebhook'> = async ({ ownerUserId, params }, { db }) => {
  if (!(await deleteWebhookById(db, ownerUserId, params.webhook_id))) throw webhookNotFound();
  return { status: 204 };
};

export const testWebhook: AuthenticatedHandler<'testWebhook'> = async ({ ownerUserId, params }, { db }) =>
  db.transaction(async (tx) => {
    if (!(await selectWebhookById(tx, ownerUserId, params.webhook_id))) throw webhookNotFound();
    const payload = { type: 'webhook.test', timestamp: new Date().toISOString(), data: { webhook_id: params.webhook_id } };
    return { status: 202 as const, body: await insertWebhookTestDelivery(tx, ownerUserId, params.webhook_id, payload) };
  });

export const listWebhookDeliveries: AuthenticatedHandler<'listWebhookDeliveries'> = async ({ ownerUserId, params, query }, { db }) => {
  if (!(await selectWebhookById(db, ownerUserId, params.webhook_id))) throw webhookNotFound();
  return { status: 200, body: [...(await selectWebhookDeliveries(db, ownerUserId, params.webhook_id, query.limit ?? 50))] };
};

/**
 * Puts events about the owner's tasks in the outbox, in the caller's transaction: they are sent
 * exactly when the write commits. `data` is what each event says (the task, or `{id}` for a deletion).
 */
export async function recordTaskEvents(tx: CommonQueryMethods, ownerUserId: string, type: TaskEventType, data: readonly unknown[]): Promise<void> {
  const timestamp = new Date().toISOString();
  await insertTaskEventDeliveries(
    tx,
    ownerUserId,
    type,
    data.map((item) => ({ key: `event:${randomUUID()}`, payload: { type, timestamp, data: item } })),
  );
}

/**
 * Standard Webhooks signature: base64 HMAC-SHA256 over `id.timestamp.body`, keyed with the secret's
 * base64 part, as `v1,<signature>`.
 */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/**
 * One signed POST of an event to a webhook. `webhook-id` is the delivery's id, the same on every
 * retry, so a receiver can drop a repeat. Anything but 2xx is a failure to retry (the
 * specification's rule), except a refusal by the outbound guard.
 */
export async function sendWebhookOnce(target: WebhookTarget, deliveryId: string, payload: unknown, policy: OutboundPolicy): Promise<AttemptResult> {
  const id = `msg_${deliveryId}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const body = JSON.stringify(payload);
  try {
    const response = await postGuarded(
      target.url,
      {
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'tasks-api-webhooks',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(target.secret, id, timestamp, body),
        },
        body,
      },
      policy,
    );
    if (response.status >= 200 && response.status < 300) return { kind: 'delivered', statusCode: response.status };
    return { kind: 'retry', statusCode: response.status, error: `HTTP ${response.status}${response.body ? `: ${response.body.slice(0, 200)}` : ''}` };
  } catch (error) {
    return resultOfError(error);
  }
}
