-- What listTasks needs to answer every sort and filter from an index, one page at a time, with
-- key-set (cursor) paging: for each sort, a b-tree led by the owner whose columns are the sort
-- key and the id, so "the next page after (value, id)" is a range scan that stops after one page.
-- The expressions here are repeated exactly in src/database/tasks.ts (the planner only uses an
-- expression index for the same expression).

-- GIN indexes led by owner_user_id (a text column) need btree_gin's operator classes. It is a
-- trusted contrib extension: on Neon and any PostgreSQL ≥ 13 the database owner may create it.
create extension if not exists btree_gin;

-- Tags compare case-insensitively: the lower-cased array (`tag_keys`) is what the tag filter and
-- its index see, while `tags` keeps each tag as the user wrote it. Stored, not computed per row
-- at query time: calling the function for every row a filtered list reads costs more than the
-- rest of the query.
create function task_tag_keys(tags text[]) returns text[]
  language sql immutable strict parallel safe
  return array(select lower(tag) from unnest(tags) as tag);

alter table tasks add column tag_keys text[] not null generated always as (task_tag_keys(tags)) stored;

-- Full-text search over title and description. The `simple` configuration lower-cases and splits
-- words without stemming, so a word prefix typed so far (`repo:*`) matches the words people wrote.
alter table tasks
  add column search_vector tsvector not null
    generated always as (to_tsvector('simple'::regconfig, title || ' ' || coalesce(description, ''))) stored;

create index tasks_owner_updated_idx on tasks (owner_user_id, updated_at, id);
-- Tasks without a due date come last in both directions: infinity when ascending, -infinity
-- when descending (read backwards); one index each.
create index tasks_owner_due_asc_idx on tasks (owner_user_id, coalesce(due_at, 'infinity'::timestamptz), id);
create index tasks_owner_due_desc_idx on tasks (owner_user_id, coalesce(due_at, '-infinity'::timestamptz), id);
-- Priority by rank (low 1, medium 2, high 3), then newest first within a rank.
create index tasks_owner_priority_idx on tasks
  (owner_user_id, (case priority when 'low' then 1 when 'medium' then 2 else 3 end), created_at, id);
create index tasks_owner_title_idx on tasks (owner_user_id, lower(title), id);
create index tasks_owner_tags_idx on tasks using gin (owner_user_id, tag_keys);
create index tasks_owner_search_idx on tasks using gin (owner_user_id, search_vector);
