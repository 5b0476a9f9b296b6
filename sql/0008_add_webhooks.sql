-- Webhooks (issue 14): a user's https endpoint for their events, signed per Standard Webhooks with
-- the row's secret. Deliveries go through the outbox (`deliveries`, channel 'webhook'), written in
-- the transaction of the change they describe.
create table webhooks (
  id              uuid primary key default gen_random_uuid(),
  owner_user_id   text not null check (char_length(owner_user_id) between 1 and 255),
  url             text not null check (char_length(url) <= 2048),
  events          text[] not null check (cardinality(events) between 1 and 5),
  -- `whsec_` + base64 of 32 random bytes; the HMAC key is the decoded part. Shown to its owner once.
  secret          text not null,
  created_at      timestamptz(3) not null default now(),
  updated_at      timestamptz(3) not null default now(),
  -- Since when every attempt has failed (null after a success); 24 hours of it disables the webhook.
  failing_since   timestamptz(3),
  disabled_at     timestamptz(3),
  disabled_reason text
);
create index webhooks_owner_created_idx on webhooks (owner_user_id, created_at, id);
