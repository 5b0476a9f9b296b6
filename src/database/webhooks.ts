// Webhook queries: one SQL statement each, every one scoped by the owner (the worker's included:
// it knows the owner from the delivery it claimed).
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { components } from '../../generated/tasks-api.d.ts';
import type { RowFitsContract } from '../contract.ts';

type WebhookEvent = components['schemas']['WebhookEvent'];

const webhookRow = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(['reminder.fired', 'task.created', 'task.updated', 'task.completed', 'task.deleted'])),
  enabled: z.boolean(),
  failing_since: z.string().nullable(),
  disabled_at: z.string().nullable(),
  disabled_reason: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type WebhookRow = z.infer<typeof webhookRow>;
true satisfies RowFitsContract<WebhookRow, components['schemas']['Webhook']>;

const webhookColumns = sql.fragment`
  id, url, events, disabled_at is null as enabled, failing_since, disabled_at, disabled_reason, created_at, updated_at`;

const idRow = z.object({ id: z.string() });
const disabledRow = z.object({ disabled: z.boolean() });

export async function insertWebhook(
  db: CommonQueryMethods,
  ownerUserId: string,
  webhook: { readonly url: string; readonly events: readonly WebhookEvent[]; readonly secret: string },
): Promise<WebhookRow> {
  return db.one(sql.type(webhookRow)`
    insert into webhooks (owner_user_id, url, events, secret)
    values (${ownerUserId}, ${webhook.url}, ${sql.array([...webhook.events], 'text')}, ${webhook.secret})
    returning ${webhookColumns}`);
}

export async function selectWebhooks(db: CommonQueryMethods, ownerUserId: string): Promise<readonly WebhookRow[]> {
  return db.any(sql.type(webhookRow)`
    select ${webhookColumns} from webhooks
    where owner_user_id = ${ownerUserId}
    order by created_at, id`);
}

export async function selectWebhookById(db: CommonQueryMethods, ownerUserId: string, webhookId: string): Promise<WebhookRow | null> {
  return db.maybeOne(sql.type(webhookRow)`
    select ${webhookColumns} from webhooks
    where owner_user_id = ${ownerUserId} and id = ${webhookId}`);
}

/** Changes what is given; `enable` clears the disabled state and the failure clock. Null: no such webhook. */
export async function updateWebhookById(
  db: CommonQueryMethods,
  ownerUserId: string,
  webhookId: string,
  changes: { readonly url?: string; readonly events?: readonly WebhookEvent[]; readonly enable?: boolean },
): Promise<WebhookRow | null> {
  const assignments = [
    changes.url !== undefined && sql.fragment`url = ${changes.url}`,
    changes.events !== undefined && sql.fragment`events = ${sql.array([...changes.events], 'text')}`,
    changes.enable === true && sql.fragment`disabled_at = null, disabled_reason = null, failing_since = null`,
    sql.fragment`updated_at = now()`,
  ].filter((assignment) => assignment !== false);
  return db.maybeOne(sql.type(webhookRow)`
    update webhooks set ${sql.join(assignments, sql.fragment`, `)}
    where owner_user_id = ${ownerUserId} and id = ${webhookId}
    returning ${webhookColumns}`);
}

export async function deleteWebhookById(db: CommonQueryMethods, ownerUserId: string, webhookId: string): Promise<boolean> {
  const result = await db.query(sql.type(idRow)`
    delete from webhooks
    where owner_user_id = ${ownerUserId} and id = ${webhookId}
    returning id`);
  return result.rowCount === 1;
}

const webhookTargetRow = z.object({ url: z.string(), secret: z.string(), enabled: z.boolean() });
export type WebhookTarget = z.infer<typeof webhookTargetRow>;

/** What the worker needs to sign and send one delivery; null when the webhook was deleted. */
export async function selectWebhookTarget(db: CommonQueryMethods, ownerUserId: string, webhookId: string): Promise<WebhookTarget | null> {
  return db.maybeOne(sql.type(webhookTargetRow)`
    select url, secret, disabled_at is null as enabled from webhooks
    where owner_user_id = ${ownerUserId} and id = ${webhookId}`);
}

/** A delivery succeeded: the webhook is healthy again. */
export async function updateWebhookSucceeded(db: CommonQueryMethods, ownerUserId: string, webhookId: string): Promise<void> {
  await db.query(sql.type(z.object({}))`
    update webhooks set failing_since = null
    where owner_user_id = ${ownerUserId} and id = ${webhookId} and failing_since is not null`);
}

/**
 * An attempt failed: starts the failure clock if it is not running, and disables the webhook when
 * it has run longer than `disableAfterMs`. Returns true when this call disabled it.
 */
export async function updateWebhookFailed(db: CommonQueryMethods, ownerUserId: string, webhookId: string, disableAfterMs: number): Promise<boolean> {
  const row = await db.maybeOne(sql.type(disabledRow)`
    update webhooks
    set failing_since = coalesce(failing_since, now()),
        disabled_at = case when coalesce(failing_since, now()) <= now() - make_interval(secs => ${disableAfterMs / 1000}) then now() end,
        disabled_reason = case when coalesce(failing_since, now()) <= now() - make_interval(secs => ${disableAfterMs / 1000})
          then 'Every delivery failed for ' || ${describeDuration(disableAfterMs)} || '; enable it again with PATCH {"enabled": true}.' end
    where owner_user_id = ${ownerUserId} and id = ${webhookId} and disabled_at is null
    returning disabled_at is not null as disabled`);
  return row?.disabled ?? false;
}

function describeDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} hours`;
  return `${ms / 1000} seconds`;
}
