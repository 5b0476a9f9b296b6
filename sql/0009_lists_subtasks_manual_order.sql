-- Lists, subtasks and manual order.
--
-- A manual position is an opaque fractional-indexing key (the `fractional-indexing` package:
-- base-62 digits, compared byte by byte): placing a row between two others writes only that row.
-- Hence collate "C" on every position column: a linguistic collation would order `a` and `B`
-- differently from the keys' own byte order.

create table lists (
  id            uuid primary key default gen_random_uuid(),
  owner_user_id text not null check (char_length(owner_user_id) between 1 and 255),
  -- Trimmed by the API; unique per owner ignoring case (lists_owner_name_key).
  name          text not null check (char_length(name) between 1 and 100 and name = btrim(name)),
  color         text check (color in ('red', 'orange', 'yellow', 'green', 'teal', 'blue', 'purple', 'pink', 'gray')),
  position      text collate "C" not null check (position ~ '^[0-9A-Za-z]{2,100}$'),
  created_at    timestamptz(3) not null default now(),
  updated_at    timestamptz(3) not null default now(),
  -- The owner's change clock at the write that last touched the list: its ETag and feed order.
  change_seq    bigint not null,
  -- The target of tasks' (owner_user_id, list_id) foreign key: a task can only be in its owner's list.
  constraint lists_owner_id_key unique (owner_user_id, id)
);
create unique index lists_owner_name_key on lists (owner_user_id, lower(name));
create index lists_owner_position_idx on lists (owner_user_id, position, id);
create index lists_owner_change_idx on lists (owner_user_id, change_seq, id);

-- A deleted list, for the change feed (include=lists): kept as long as task tombstones.
create table list_tombstones (
  owner_user_id text not null,
  list_id       uuid not null,
  change_seq    bigint not null,
  deleted_at    timestamptz(3) not null default now(),
  primary key (owner_user_id, change_seq, list_id)
);
create index list_tombstones_owner_deleted_idx on list_tombstones (owner_user_id, deleted_at);

-- A task's list (null: the inbox) and parent (null: top level). `ancestor_ids` is the chain of
-- parents, root first (at most 3: four levels): it makes "this task's subtree" one indexed
-- condition (`ancestor_ids @> array[id]`) rather than a recursive query, and a cycle or a tree
-- too deep a check on one row. Siblings share (list_id, parent_id); `position` orders them.
alter table tasks
  add column list_id uuid,
  add column parent_id uuid,
  add column ancestor_ids uuid[] not null default '{}' check (cardinality(ancestor_ids) <= 3),
  add column position text collate "C" check (position ~ '^[0-9A-Za-z]{2,100}$'),
  add constraint tasks_list_fk foreign key (owner_user_id, list_id) references lists (owner_user_id, id),
  add constraint tasks_parent_is_last_ancestor check (parent_id is not distinct from ancestor_ids[cardinality(ancestor_ids)]);

-- The sibling group as one value: the parent when there is one (its children), else the list, else
-- the inbox (the zero UUID; ids are random UUIDs, so a parent's id and a list's never coincide).
-- An equality on one column is what lets one index serve "this group, in manual order" with cursors:
-- `list_id is null and parent_id is null` would not fix the index's leading columns for the planner.
alter table tasks
  add column sibling_group uuid not null
    generated always as (coalesce(parent_id, list_id, '00000000-0000-0000-0000-000000000000'::uuid)) stored;

-- Existing tasks land in the inbox, at the top level, in their current (newest-first) order: the
-- n-th newest gets the fractional-indexing integer key 'd' followed by n in four base-62 digits
-- ('d0000', 'd0001', …: valid keys that sort as numbered, with room before and after them).
with ranked as (
  select id, row_number() over (partition by owner_user_id order by created_at desc, id desc) - 1 as n
  from tasks
)
update tasks
set position = 'd'
  || substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', ((ranked.n / 238328) % 62)::int + 1, 1)
  || substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', ((ranked.n / 3844) % 62)::int + 1, 1)
  || substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', ((ranked.n / 62) % 62)::int + 1, 1)
  || substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', (ranked.n % 62)::int + 1, 1)
from ranked
where tasks.id = ranked.id;
alter table tasks alter column position set not null;

-- One sibling group in manual order (sort=position, and a move's neighbours).
create index tasks_owner_siblings_position_idx on tasks (owner_user_id, sibling_group, position, id);
-- A list's tasks: the list filter, and the foreign key's check when a list is deleted.
create index tasks_owner_list_idx on tasks (owner_user_id, list_id) where list_id is not null;
-- Subtrees: only subtasks have ancestors, so the index holds only them.
create index tasks_owner_ancestors_idx on tasks using gin (owner_user_id, ancestor_ids) where cardinality(ancestor_ids) > 0;
