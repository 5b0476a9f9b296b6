-- Safe concurrent edits, the change feed and idempotent writes.
--
-- Every write to an owner's tasks first advances that owner's row in `task_change_clocks` and
-- stamps the rows it writes with the new value (`change_seq`). The clock row stays locked until the
-- write commits, so one owner's writes commit in clock order: a feed reader can never see change N+1
-- while change N is still in flight and skip it for good (the classic commit-order gap of a global
-- sequence). `change_seq` is also the task's version: its ETag, and what If-Match compares.
create table task_change_clocks (
  owner_user_id      text primary key check (char_length(owner_user_id) between 1 and 255),
  last_seq           bigint not null check (last_seq > 0),
  -- Highest change_seq among the tombstones purged after 30 days: a feed position before it has
  -- missed a deletion for good, so that client must resync (410).
  purged_through_seq bigint not null default 0
);

-- Rows that exist before this migration were never seen by a feed: 0 puts them first.
alter table tasks add column change_seq bigint not null default 0;
create index tasks_owner_change_idx on tasks (owner_user_id, change_seq, id);

-- A deleted task, for the change feed: kept 30 days, then purged.
create table task_tombstones (
  owner_user_id text not null,
  task_id       uuid not null,
  change_seq    bigint not null,
  deleted_at    timestamptz(3) not null default now(),
  primary key (owner_user_id, change_seq, task_id)
);
create index task_tombstones_owner_deleted_idx on task_tombstones (owner_user_id, deleted_at);

-- Idempotency-Key: the response of a create/complete, committed in the same transaction as the
-- write it describes, replayed for 24 hours to the same owner sending the same key and request.
create table idempotency_keys (
  owner_user_id       text not null,
  key                 text not null check (char_length(key) between 1 and 255),
  request_fingerprint text not null,
  response_status     integer not null,
  response_headers    jsonb not null,
  -- json, not jsonb: the replay is the original body byte for byte (jsonb would reorder its keys).
  response_body       json,
  created_at          timestamptz(3) not null default now(),
  expires_at          timestamptz(3) not null,
  primary key (owner_user_id, key)
);
create index idempotency_keys_owner_expires_idx on idempotency_keys (owner_user_id, expires_at);
