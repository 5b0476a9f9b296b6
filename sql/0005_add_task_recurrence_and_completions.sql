-- Recurring tasks (issue 13) and the completion history of every task.
--
-- A recurring task is one row rolled forward on completion: `due_at` is always its current
-- occurrence. The rule is stored normalised by the API (src/recurrence.ts), never as free text.
alter table tasks
  add column recurrence_rule      text check (char_length(recurrence_rule) between 1 and 500),
  add column recurrence_time_zone text check (char_length(recurrence_time_zone) between 1 and 64),
  add column recurrence_basis     text check (recurrence_basis in ('due', 'completion')),
  -- The current occurrence's wall-clock time in the zone, as the rule made it. It differs from
  -- due_at's local time only when that time does not exist (02:30 on a spring-forward day is due
  -- at 03:30, but the series goes on at 02:30). Null: due_at's own local time (after an edit).
  add column recurrence_anchor    timestamp(3),
  -- The current occurrence's number in the series, from 1: what COUNT counts.
  add column recurrence_index     integer not null default 1 check (recurrence_index >= 1),
  add constraint tasks_recurrence_all_or_none check (
    (recurrence_rule is null) = (recurrence_time_zone is null)
    and (recurrence_rule is null) = (recurrence_basis is null)),
  add constraint tasks_recurrence_needs_due_at check (recurrence_rule is null or due_at is not null);

-- "My recurring tasks": the default order over only the recurring rows, so a list filtered by
-- `recurring=true` reads one page of index however few of the owner's tasks recur.
create index tasks_owner_recurring_created_idx on tasks (owner_user_id, created_at desc, id desc)
  where recurrence_rule is not null;

-- One row per completion of a task, recurring or not. Deleted with the task (the API deletes them
-- in the same transaction; there is no foreign key because the cascade's lookup by task_id alone
-- would need an index that does not lead with the owner).
create table task_completions (
  id                uuid primary key default gen_random_uuid(),
  owner_user_id     text not null check (char_length(owner_user_id) between 1 and 255),
  task_id           uuid not null,
  -- The due date of the occurrence completed (null for a task without a due date).
  occurrence_due_at timestamptz(3),
  completed_at      timestamptz(3) not null default now(),
  -- The owner's change clock at the completion: unique per owner, so it orders completions
  -- exactly (two can share a millisecond) and says which one is the latest.
  change_seq        bigint not null,
  -- What undoing this completion restores (the series' anchor and number before it moved on).
  occurrence_anchor timestamp(3),
  occurrence_index  integer not null default 1
);
-- A task's history, newest first, and its latest completion: by change_seq, the order the
-- completions were committed in (completed_at is each transaction's start).
create index task_completions_owner_task_idx on task_completions (owner_user_id, task_id, change_seq desc);
-- Everything the owner completed in a time range, newest first.
create index task_completions_owner_completed_idx on task_completions (owner_user_id, completed_at desc, change_seq desc);
