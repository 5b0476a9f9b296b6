-- Web Push subscriptions and the delivery outbox (issue 14).
--
-- A browser's PushSubscription (RFC 8030 endpoint, RFC 8291 keys), one row per owner and endpoint.
create table push_subscriptions (
  id            uuid primary key default gen_random_uuid(),
  owner_user_id text not null check (char_length(owner_user_id) between 1 and 255),
  endpoint      text not null check (char_length(endpoint) <= 2048),
  p256dh        text not null check (char_length(p256dh) <= 200),
  auth          text not null check (char_length(auth) <= 100),
  created_at    timestamptz(3) not null default now(),
  unique (owner_user_id, endpoint)
);
create index push_subscriptions_owner_created_idx on push_subscriptions (owner_user_id, created_at, id);

-- The outbox: one row per message to one target (a push subscription, a webhook), written in the
-- transaction of what caused it (a reminder firing, a task write), so a rolled-back write leaves no
-- message and a committed one cannot lose it. The delivery worker claims due rows with FOR UPDATE
-- SKIP LOCKED and leases them by pushing next_attempt_at past the call's timeout: a worker that dies
-- mid-call leaves the row to be claimed again when the lease ends (at least once). The unique
-- delivery_key (reminder + occurrence, or event id) makes a repeated write of the same message a no-op.
create table deliveries (
  id               uuid primary key default gen_random_uuid(),
  owner_user_id    text not null,
  channel          text not null check (channel in ('push', 'webhook')),
  -- The push subscription or webhook (no foreign key: deleting the target ends its deliveries, see the worker).
  target_id        uuid not null,
  event_type       text not null,
  delivery_key     text not null,
  payload          jsonb not null,
  status           text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts         integer not null default 0,
  next_attempt_at  timestamptz(3) not null default now(),
  last_attempt_at  timestamptz(3),
  last_status_code integer,
  last_error       text,
  created_at       timestamptz(3) not null default now(),
  finished_at      timestamptz(3),
  unique (owner_user_id, channel, target_id, delivery_key)
);
-- The worker's one question: what is due, oldest first.
create index deliveries_due_idx on deliveries (next_attempt_at) where status = 'pending';
-- A target's deliveries, newest first (GET /api/webhooks/{id}/deliveries).
create index deliveries_owner_target_idx on deliveries (owner_user_id, target_id, created_at desc, id);
