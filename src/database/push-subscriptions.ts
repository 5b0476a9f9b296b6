// Push subscription queries: one SQL statement each, every one scoped by the owner.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { components } from '../../generated/tasks-api.d.ts';
import type { RowFitsContract } from '../contract.ts';

const pushSubscriptionRow = z.object({ id: z.string(), endpoint: z.string(), created_at: z.string() });
export type PushSubscriptionRow = z.infer<typeof pushSubscriptionRow>;
true satisfies RowFitsContract<PushSubscriptionRow, components['schemas']['PushSubscription']>;

const upsertedPushSubscriptionRow = pushSubscriptionRow.extend({ created: z.boolean() });
const idRow = z.object({ id: z.string() });

/**
 * Stores the browser's subscription; the same endpoint again (a browser re-subscribing) keeps its
 * row and id and takes the new keys. `created` says which happened.
 */
export async function upsertPushSubscription(
  db: CommonQueryMethods,
  ownerUserId: string,
  subscription: { readonly endpoint: string; readonly p256dh: string; readonly auth: string },
): Promise<PushSubscriptionRow & { created: boolean }> {
  const row = await db.one(sql.type(upsertedPushSubscriptionRow)`
    insert into push_subscriptions (owner_user_id, endpoint, p256dh, auth)
    values (${ownerUserId}, ${subscription.endpoint}, ${subscription.p256dh}, ${subscription.auth})
    on conflict (owner_user_id, endpoint) do update set p256dh = excluded.p256dh, auth = excluded.auth
    returning id, endpoint, created_at, (xmax = 0) as created`);
  return row;
}

export async function selectPushSubscriptions(db: CommonQueryMethods, ownerUserId: string): Promise<readonly PushSubscriptionRow[]> {
  return db.any(sql.type(pushSubscriptionRow)`
    select id, endpoint, created_at from push_subscriptions
    where owner_user_id = ${ownerUserId}
    order by created_at, id`);
}

const pushTargetRow = z.object({ endpoint: z.string(), p256dh: z.string(), auth: z.string() });
export type PushTarget = z.infer<typeof pushTargetRow>;

/** What the worker needs to encrypt and send to one subscription; null when it was deleted. */
export async function selectPushTarget(db: CommonQueryMethods, ownerUserId: string, subscriptionId: string): Promise<PushTarget | null> {
  return db.maybeOne(sql.type(pushTargetRow)`
    select endpoint, p256dh, auth from push_subscriptions
    where owner_user_id = ${ownerUserId} and id = ${subscriptionId}`);
}

/** Returns false when the owner has no such subscription. */
export async function deletePushSubscriptionById(db: CommonQueryMethods, ownerUserId: string, subscriptionId: string): Promise<boolean> {
  const result = await db.query(sql.type(idRow)`
    delete from push_subscriptions
    where owner_user_id = ${ownerUserId} and id = ${subscriptionId}
    returning id`);
  return result.rowCount === 1;
}
