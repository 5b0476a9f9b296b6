-- Fields people organise tasks by. Existing rows get the defaults: medium priority, no tags, no
-- due date. The shape of each tag (trimmed, 1–40 characters, unique case-insensitively) is the
-- contract's and the handlers' job; the table guards only what no code path may ever break.
alter table tasks
  add column priority text not null default 'medium'
    check (priority in ('low', 'medium', 'high')),
  add column tags text[] not null default '{}'
    check (cardinality(tags) <= 20 and array_position(tags, null) is null),
  add column due_at timestamptz(3);
