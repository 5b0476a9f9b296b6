-- Reminders on tasks (issue 14). A reminder is either absolute (`remind_at`) or relative to the
-- task's due date (`before_due`, an ISO 8601 duration kept as sent). `fire_at` is computed from
-- the task in the same transaction as every write to it; the row is its own schedule: the
-- scheduler claims rows `where pending and fire_at <= now()` with FOR UPDATE SKIP LOCKED, so no
-- separate job queue holds a second copy that could disagree with the task.
create table task_reminders (
  owner_user_id text not null,
  task_id       uuid not null references tasks (id) on delete cascade,
  id            uuid not null,
  position      smallint not null check (position between 0 and 9),
  remind_at     timestamptz(3),
  before_due    text check (char_length(before_due) <= 40),
  -- before_due in seconds (parsed by the API): durations of weeks, days, hours, minutes, seconds only.
  before_due_seconds integer check (before_due_seconds between 0 and 2592000),
  -- When it fires: remind_at, or the task's due_at minus before_due.
  fire_at       timestamptz(3),
  -- True while the occurrence at fire_at is still to be fired. Set when fire_at is (re)computed to a
  -- time still ahead; cleared when it fires, and when the task is completed.
  pending       boolean not null default false,
  -- The occurrence (a fire_at value) that fired last, and when it fired: an unrelated edit of the
  -- task never makes an occurrence that already fired pending again.
  fired_for     timestamptz(3),
  last_fired_at timestamptz(3),
  primary key (owner_user_id, task_id, id),
  constraint task_reminders_one_kind check ((remind_at is null) <> (before_due is null)),
  constraint task_reminders_relative_seconds check ((before_due is null) = (before_due_seconds is null))
);
-- The scheduler's one question: which reminders are due, oldest first.
create index task_reminders_due_idx on task_reminders (fire_at) where pending;
-- "My reminders due until …" (GET /api/reminders/due).
create index task_reminders_owner_due_idx on task_reminders (owner_user_id, fire_at) where pending;

-- A task's reminders as the API shows them, in the order they were given. A function, so every
-- statement that returns tasks returns them with one column and its owner-scoped lookup stays here.
create function task_reminders_json(owner text, task uuid) returns json
language sql stable parallel safe as $$
  select coalesce(json_agg(json_strip_nulls(json_build_object(
           'id', r.id,
           'remind_at', to_char(r.remind_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           'before_due', r.before_due))::jsonb
           || jsonb_build_object(
             'fire_at', to_char(r.fire_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'last_fired_at', to_char(r.last_fired_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
           order by r.position), '[]')
  from task_reminders r
  where r.owner_user_id = owner and r.task_id = task
$$;
