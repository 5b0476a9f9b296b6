-- Tasks, one row per task, each owned by exactly one user (the `sub` of the token that made it).
-- `completed` is not stored: it is `status = 'completed'`, so the two can never disagree.
create table tasks (
  id            uuid primary key default gen_random_uuid(),
  owner_user_id text not null check (char_length(owner_user_id) between 1 and 255),
  title         text not null check (char_length(title) between 1 and 500 and title ~ '\S'),
  description   text check (char_length(description) <= 2000),
  status        text not null default 'pending'
                check (status in ('pending', 'in_progress', 'completed')),
  -- Millisecond precision, the precision of the API's timestamps: what is stored is what is sent.
  completed_at  timestamptz(3),
  created_at    timestamptz(3) not null default now(),
  updated_at    timestamptz(3) not null default now(),
  constraint tasks_completed_at_iff_completed
    check ((status = 'completed') = (completed_at is not null))
);

-- "My tasks, newest first": the list query reads this index in order and stops after one page.
create index tasks_owner_created_idx on tasks (owner_user_id, created_at desc, id desc);
