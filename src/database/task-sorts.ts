// One home per sort field of listTasks: what `sort=<field>` means in SQL (the key it orders by),
// which of a task's values a cursor carries to say where the next page starts (and how a decoded
// cursor's values are checked before they reach SQL), and the index that serves the order. The
// query builder (tasks.ts), the cursor codec (cursors.ts) and the tests all read this table, so a
// sort field is added or changed here and nowhere else.
import { sql } from 'slonik';
import { z } from 'zod';
import type { Priority, TaskSort } from '../contract.ts';

type Fragment = ReturnType<typeof sql.fragment>;

/** Priorities from lowest to highest: the one place their ranking is written (rank = place + 1). */
export const priorityRanking = ['low', 'medium', 'high'] as const satisfies readonly Priority[];

export const priorityRank = (priority: Priority): number => priorityRanking.indexOf(priority) + 1;

/**
 * The ranking in SQL, spelled exactly as the priority index's expression (sql/0003:
 * `case priority when 'low' then 1 when 'medium' then 2 else 3 end`): the planner uses an
 * expression index only for the same expression. `'1'::int4` is parsed to the same constant as `1`.
 */
export function priorityRankSql(priority: Fragment): Fragment {
  const ranked = priorityRanking.slice(0, -1).map(
    (name, place) => sql.fragment`when ${sql.literalValue(name)} then ${sql.literalValue(String(place + 1))}::int4`,
  );
  return sql.fragment`(case ${priority} ${sql.join(ranked, sql.fragment` `)} else ${sql.literalValue(String(priorityRanking.length))}::int4 end)`;
}

const timestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
  .refine((value) => !value.startsWith('0000') && !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value);
const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

/**
 * The task columns a sort key can read: the SQL type a cursor's value is cast to, and the check a
 * decoded cursor's value must pass (what the column can hold, in the API's own spelling).
 */
const columns = {
  id: { cast: sql.fragment`uuid`, check: uuid },
  created_at: { cast: sql.fragment`timestamptz`, check: timestamp },
  updated_at: { cast: sql.fragment`timestamptz`, check: timestamp },
  due_at: { cast: sql.fragment`timestamptz`, check: timestamp.nullable() },
  priority: { cast: sql.fragment`text`, check: z.enum(priorityRanking) },
  title: { cast: sql.fragment`text`, check: z.string().min(1).max(500).regex(/^[^\u0000]*$/) },
  position: { cast: sql.fragment`text`, check: z.string().regex(/^[0-9A-Za-z]{2,100}$/) },
} as const;

type Column = keyof typeof columns;

export type SortFacts = {
  /** The task columns a cursor carries, in order, id last: the values the key below reads. */
  readonly columns: readonly Column[];
  /**
   * The ORDER BY expressions, each over `column` (a table column, or a cursor's value cast to the
   * column's type): exactly the index's expressions, so a page is a range scan of it.
   */
  readonly key: (column: (name: Column) => Fragment, descending: boolean) => readonly Fragment[];
  /** The index that serves the order, read forwards (ascending) or backwards (descending). */
  readonly index: (descending: boolean) => string;
  /** The order only means something within one sibling group: listTasks requires list_id and parent_id fixed. */
  readonly withinSiblings?: true;
};

const infinity = (descending: boolean) => (descending ? sql.fragment`'-infinity'::timestamptz` : sql.fragment`'infinity'::timestamptz`);

export const sortFields = {
  created_at: {
    columns: ['created_at', 'id'],
    key: (column) => [column('created_at'), column('id')],
    index: () => 'tasks_owner_created_idx',
  },
  updated_at: {
    columns: ['updated_at', 'id'],
    key: (column) => [column('updated_at'), column('id')],
    index: () => 'tasks_owner_updated_idx',
  },
  due_at: {
    // No due date sorts last either way: as infinity ascending, as -infinity descending (one index each).
    columns: ['due_at', 'id'],
    key: (column, descending) => [sql.fragment`coalesce(${column('due_at')}, ${infinity(descending)})`, column('id')],
    index: (descending) => (descending ? 'tasks_owner_due_desc_idx' : 'tasks_owner_due_asc_idx'),
  },
  priority: {
    // By rank, then by creation within a rank.
    columns: ['priority', 'created_at', 'id'],
    key: (column) => [priorityRankSql(column('priority')), column('created_at'), column('id')],
    index: () => 'tasks_owner_priority_idx',
  },
  title: {
    columns: ['title', 'id'],
    key: (column) => [sql.fragment`lower(${column('title')})`, column('id')],
    index: () => 'tasks_owner_title_idx',
  },
  position: {
    // Manual order within one sibling group: listTasks requires the group (list_id, parent_id) to
    // be fixed, so the index is read from that group's first entry. Keys compare byte by byte
    // (the column is collate "C").
    columns: ['position', 'id'],
    key: (column) => [column('position'), column('id')],
    index: () => 'tasks_owner_siblings_position_idx',
    withinSiblings: true,
  },
} as const satisfies Record<string, SortFacts>;

export const sortsWithinSiblings = (field: SortField): boolean => (sortFields[field] as SortFacts).withinSiblings === true;

export type SortField = keyof typeof sortFields;

// The contract's `sort` values are exactly these fields, each ascending or descending (`-field`).
type FieldOf<Sort> = Sort extends `-${infer Field}` ? Field : Sort;
true satisfies [Exclude<FieldOf<TaskSort>, SortField> | Exclude<SortField, FieldOf<TaskSort>>] extends [never] ? true : false;
export type TaskOrder = { readonly field: SortField; readonly descending: boolean };

/**
 * Where a page starts: the sort's column values of the last task of the previous page, as that
 * task had them (the SQL applies the key's expressions to both sides), ending with its id.
 */
export type ListPosition = readonly (string | null)[];

/** The sort key over the table's rows. */
export const keyOfRows = ({ field, descending }: TaskOrder): readonly Fragment[] =>
  sortFields[field].key((name) => sql.fragment`${sql.identifier([name])}`, descending);

/** The same key over a cursor's position (values in `columns` order). */
export function keyOfPosition({ field, descending }: TaskOrder, position: ListPosition): readonly Fragment[] {
  const names: readonly Column[] = sortFields[field].columns;
  return sortFields[field].key((name) => sql.fragment`${position[names.indexOf(name)] ?? null}::${columns[name].cast}`, descending);
}

/** The position a page that ends with `task` hands to the next one. */
export const positionOf = (task: Readonly<Record<Column, string | null>>, field: SortField): ListPosition =>
  sortFields[field].columns.map((name) => task[name]);

/** What a decoded cursor's position must hold for `field`; undefined when it holds anything else. */
export function checkedPosition(field: SortField, values: readonly unknown[]): ListPosition | undefined {
  const names: readonly Column[] = sortFields[field].columns;
  if (values.length !== names.length) return undefined;
  const checked = names.map((name, place) => columns[name].check.safeParse(values[place]));
  return checked.every((result) => result.success) ? checked.map((result) => result.data as string | null) : undefined;
}
