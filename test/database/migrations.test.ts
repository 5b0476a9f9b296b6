// Migrations: sql/NNNN_*.sql, forward-only, each applied once in its own transaction, recorded
// with a SHA-256 checksum; a landed migration is never edited; concurrent starts are safe.
import { createHash } from 'node:crypto';
import { appendFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { migrate, MigrationError, migrationsDirectory } from '../../src/database/migrations.ts';
import { newUser, startTestApi } from '../support/api.ts';
import type { Task } from '../../src/contract.ts';
import { bearer, expectTask, nextLinkOf } from '../support/tasks.ts';
import { createEmptyDatabase, silentLog, testDatabaseUrl, withSqlClient } from '../support/database.ts';

/** The migrations in sql/, as the database should record them. */
async function shippedMigrations(): Promise<{ version: string; name: string; checksum: string }[]> {
  const names = (await readdir(migrationsDirectory)).filter((name) => /^\d{4}_[a-z0-9_]+\.sql$/.test(name)).sort();
  return Promise.all(
    names.map(async (name) => ({
      version: name.slice(0, 4),
      name,
      checksum: createHash('sha256').update(await readFile(path.join(migrationsDirectory, name), 'utf8')).digest('hex'),
    })),
  );
}

async function recordedMigrations(databaseUrl: string) {
  return withSqlClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ version: string; name: string; checksum: string; applied_at: Date }>(
      'select version, name, checksum, applied_at from schema_migrations order by version',
    );
    return rows;
  });
}

async function tablesIn(databaseUrl: string): Promise<string[]> {
  return withSqlClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = 'public' order by table_name",
    );
    return rows.map((row) => row.table_name);
  });
}

describe('migrations', () => {
  const temporaryDirectories: string[] = [];

  /** A private copy of sql/ that a test may edit or add to. */
  async function copyOfSqlFolder(): Promise<string> {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'tasks-api-sql-'));
    temporaryDirectories.push(directory);
    await cp(migrationsDirectory, directory, { recursive: true });
    return directory;
  }

  after(async () => {
    await Promise.all(temporaryDirectories.map((directory) => rm(directory, { recursive: true, force: true })));
  });

  it('applies every migration to an empty database and records each with its SHA-256 checksum', async () => {
    const databaseUrl = await createEmptyDatabase('migrate_empty');
    const shipped = await shippedMigrations();
    expect(shipped.length).to.be.at.least(1);
    const startedAt = Date.now();

    expect(await migrate(databaseUrl, silentLog)).to.deep.equal(shipped.map((migration) => migration.name));

    expect(await tablesIn(databaseUrl)).to.deep.equal([
      'deliveries',
      'idempotency_keys',
      'list_tombstones',
      'lists',
      'push_subscriptions',
      'schema_migrations',
      'task_change_clocks',
      'task_completions',
      'task_reminders',
      'task_tombstones',
      'tasks',
      'webhooks',
    ]);
    const recorded = await recordedMigrations(databaseUrl);
    expect(recorded.map(({ version, name, checksum }) => ({ version, name, checksum }))).to.deep.equal(shipped);
    for (const { checksum, applied_at } of recorded) {
      expect(checksum).to.match(/^[0-9a-f]{64}$/);
      expect(applied_at.getTime()).to.be.within(startedAt - 1_000, Date.now() + 1_000);
    }
  });

  it('creates the tasks table with its columns and an owner-first index for "my tasks, newest first"', async () => {
    const databaseUrl = await createEmptyDatabase('migrate_schema');
    await migrate(databaseUrl, silentLog);
    const { columns, indexes } = await withSqlClient(databaseUrl, async (client) => {
      const columns = await client.query<{ column_name: string; data_type: string; is_nullable: string }>(
        "select column_name, data_type, is_nullable from information_schema.columns where table_name = 'tasks' order by ordinal_position",
      );
      const indexes = await client.query<{ indexname: string; indexdef: string }>(
        "select indexname, indexdef from pg_indexes where tablename = 'tasks' order by indexname",
      );
      return { columns: columns.rows, indexes: indexes.rows };
    });
    expect(columns).to.deep.equal([
      { column_name: 'id', data_type: 'uuid', is_nullable: 'NO' },
      { column_name: 'owner_user_id', data_type: 'text', is_nullable: 'NO' },
      { column_name: 'title', data_type: 'text', is_nullable: 'NO' },
      { column_name: 'description', data_type: 'text', is_nullable: 'YES' },
      { column_name: 'status', data_type: 'text', is_nullable: 'NO' },
      { column_name: 'completed_at', data_type: 'timestamp with time zone', is_nullable: 'YES' },
      { column_name: 'created_at', data_type: 'timestamp with time zone', is_nullable: 'NO' },
      { column_name: 'updated_at', data_type: 'timestamp with time zone', is_nullable: 'NO' },
      { column_name: 'priority', data_type: 'text', is_nullable: 'NO' },
      { column_name: 'tags', data_type: 'ARRAY', is_nullable: 'NO' },
      { column_name: 'due_at', data_type: 'timestamp with time zone', is_nullable: 'YES' },
      { column_name: 'tag_keys', data_type: 'ARRAY', is_nullable: 'NO' },
      { column_name: 'search_vector', data_type: 'tsvector', is_nullable: 'NO' },
      { column_name: 'change_seq', data_type: 'bigint', is_nullable: 'NO' },
      { column_name: 'recurrence_rule', data_type: 'text', is_nullable: 'YES' },
      { column_name: 'recurrence_time_zone', data_type: 'text', is_nullable: 'YES' },
      { column_name: 'recurrence_basis', data_type: 'text', is_nullable: 'YES' },
      { column_name: 'recurrence_anchor', data_type: 'timestamp without time zone', is_nullable: 'YES' },
      { column_name: 'recurrence_index', data_type: 'integer', is_nullable: 'NO' },
      { column_name: 'list_id', data_type: 'uuid', is_nullable: 'YES' },
      { column_name: 'parent_id', data_type: 'uuid', is_nullable: 'YES' },
      { column_name: 'ancestor_ids', data_type: 'ARRAY', is_nullable: 'NO' },
      { column_name: 'position', data_type: 'text', is_nullable: 'NO' },
      { column_name: 'sibling_group', data_type: 'uuid', is_nullable: 'NO' },
    ]);
    const listIndex = indexes.find((index) => index.indexname === 'tasks_owner_created_idx');
    expect(listIndex?.indexdef).to.equal(
      'CREATE INDEX tasks_owner_created_idx ON public.tasks USING btree (owner_user_id, created_at DESC, id DESC)',
    );
    // Every query is scoped to one owner, so indexes lead with owner_user_id (the primary key on the opaque id is the one exception).
    for (const index of indexes.filter((index) => index.indexname !== 'tasks_pkey')) {
      expect(index.indexdef, index.indexname).to.match(/USING \w+ \(owner_user_id\b/);
    }
  });

  it('gives rows written before priority, tags, due_at and search existed the defaults, and finds them', async () => {
    const onlyFirst = await mkdtemp(path.join(os.tmpdir(), 'tasks-api-sql-'));
    temporaryDirectories.push(onlyFirst);
    await cp(path.join(migrationsDirectory, '0001_create_tasks.sql'), path.join(onlyFirst, '0001_create_tasks.sql'));
    const databaseUrl = await createEmptyDatabase('migrate_v1_rows');
    await migrate(databaseUrl, silentLog, onlyFirst);
    const user = await newUser();
    const id = await withSqlClient(databaseUrl, async (client) => {
      const { rows } = await client.query<{ id: string }>(
        "insert into tasks (owner_user_id, title, description) values ($1, 'Written under v1', 'Before the upgrade') returning id",
        [user.id],
      );
      return rows[0]!.id;
    });

    expect(await migrate(databaseUrl, silentLog)).to.deep.equal((await shippedMigrations()).slice(1).map(({ name }) => name));

    const api = await startTestApi({ databaseUrl });
    try {
      const read = await api.http.get(`/api/tasks/${id}`).set(bearer(user));
      expect(read.status, read.text).to.equal(200);
      expectTask(read.body, {
        id,
        user_id: user.id,
        title: 'Written under v1',
        description: 'Before the upgrade',
        status: 'pending',
        priority: 'medium',
        tags: [],
        due_at: null,
      });
      const searched = await api.http.get('/api/tasks?q=upgr&priority=medium').set(bearer(user));
      expect(searched.status, searched.text).to.equal(200);
      expect(searched.body).to.deep.equal([read.body]);
    } finally {
      await api.close();
    }
  });

  it('puts tasks that existed before lists into the inbox, at the top level, in manual order as they were listed (newest first)', async () => {
    const beforeLists = await mkdtemp(path.join(os.tmpdir(), 'tasks-api-sql-'));
    temporaryDirectories.push(beforeLists);
    const shipped = await shippedMigrations();
    const listsMigration = shipped.findIndex(({ name }) => name.includes('_lists_subtasks_manual_order'));
    for (const { name } of shipped.slice(0, listsMigration)) await cp(path.join(migrationsDirectory, name), path.join(beforeLists, name));
    const databaseUrl = await createEmptyDatabase('migrate_before_lists');
    await migrate(databaseUrl, silentLog, beforeLists);
    const [user, other] = [await newUser(), await newUser()];
    // 70 tasks (more than 62: the keys' base-62 digits carry) with distinct creation times, and
    // two with the same time (the id breaks the tie, as in the newest-first list); another user's.
    await withSqlClient(databaseUrl, async (client) => {
      await client.query(
        `insert into tasks (owner_user_id, title, created_at, updated_at)
         select $1, 'Task ' || n, timestamptz '2026-01-01' + n * interval '1 minute', timestamptz '2026-01-01' + n * interval '1 minute'
         from generate_series(1, 70) as n`,
        [user.id],
      );
      await client.query(
        "insert into tasks (owner_user_id, title, created_at, updated_at) values ($1, 'Tie A', '2026-01-01T00:30:00Z', '2026-01-01T00:30:00Z'), ($1, 'Tie B', '2026-01-01T00:30:00Z', '2026-01-01T00:30:00Z'), ($2, 'Other', now(), now())",
        [user.id, other.id],
      );
    });

    await migrate(databaseUrl, silentLog);

    const api = await startTestApi({ databaseUrl });
    try {
      const all = async (url: string) => {
        const tasks: Task[] = [];
        for (let next: string | undefined = url; next; ) {
          const response = await api.http.get(next).set(bearer(user));
          expect(response.status, response.text).to.equal(200);
          tasks.push(...(response.body as Task[]));
          next = nextLinkOf(response);
        }
        return tasks;
      };
      const newestFirst = await all('/api/tasks?limit=50');
      const manual = await all('/api/tasks?list_id=inbox&parent_id=none&sort=position&limit=50');
      expect(newestFirst).to.have.length(72);
      expect(manual).to.deep.equal(newestFirst);
      for (const task of manual) expect([task.list_id, task.parent_id]).to.deep.equal([null, null]);
      // A new task goes on top of them, and one can be dropped between two of them.
      const created = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'After the upgrade' });
      const moved = await api.http.post(`/api/tasks/${manual[5]!.id}/move`).set(bearer(user)).send({ after_id: manual[0]!.id });
      expect([created.status, moved.status]).to.deep.equal([201, 200]);
      const after = await all('/api/tasks?list_id=inbox&parent_id=none&sort=position&limit=50');
      expect(after.map((task) => task.id).slice(0, 3)).to.deep.equal([created.body.id, manual[0]!.id, manual[5]!.id]);
    } finally {
      await api.close();
    }
  });

  it('applies nothing and changes nothing when run a second time', async () => {
    const databaseUrl = await createEmptyDatabase('migrate_twice');
    await migrate(databaseUrl, silentLog);
    const before = await recordedMigrations(databaseUrl);

    expect(await migrate(databaseUrl, silentLog)).to.deep.equal([]);

    expect(await recordedMigrations(databaseUrl)).to.deep.equal(before);
  });

  it('refuses to run when an applied migration was edited afterwards, naming the file', async () => {
    const directory = await copyOfSqlFolder();
    const databaseUrl = await createEmptyDatabase('migrate_edited');
    await migrate(databaseUrl, silentLog, directory);
    const [first] = await shippedMigrations();
    await appendFile(path.join(directory, first!.name), '\n-- an innocent-looking edit\n');

    const error = await migrate(databaseUrl, silentLog, directory).then(
      () => undefined,
      (failure: unknown) => failure,
    );

    expect(error).to.be.instanceOf(MigrationError);
    expect((error as MigrationError).message).to.equal(
      `Migration ${first!.name} was edited after it was applied (its checksum differs from the recorded one). ` +
        'Landed migrations are never edited: restore it and add a new migration instead.',
    );
    expect((await recordedMigrations(databaseUrl)).map(({ checksum }) => checksum)).to.deep.equal(
      (await shippedMigrations()).map(({ checksum }) => checksum),
    );
  });

  it('rolls a failing migration back completely and does not record it', async () => {
    const directory = await copyOfSqlFolder();
    // Statements that succeed, then one that fails: none of the first may survive.
    await writeFile(
      path.join(directory, '9001_half_done.sql'),
      [
        'create table half_done (id int);',
        "insert into half_done values (1);",
        "alter table tasks add column half_done_flag boolean;",
        'select 1 / 0;',
      ].join('\n'),
    );
    const databaseUrl = await createEmptyDatabase('migrate_failing');

    const error = await migrate(databaseUrl, silentLog, directory).then(
      () => undefined,
      (failure: unknown) => failure,
    );

    expect(error).to.be.instanceOf(MigrationError);
    expect((error as MigrationError).message).to.equal('Migration 9001_half_done.sql failed: division by zero');
    // The migrations before it were applied and recorded; nothing of the failing one remains.
    expect(await tablesIn(databaseUrl)).to.deep.equal(await tablesIn(testDatabaseUrl()));
    const taskColumns = await withSqlClient(databaseUrl, async (client) => {
      const { rows } = await client.query<{ column_name: string }>(
        "select column_name from information_schema.columns where table_name = 'tasks'",
      );
      return rows.map((row) => row.column_name);
    });
    expect(taskColumns).not.to.include('half_done_flag');
    expect((await recordedMigrations(databaseUrl)).map(({ name }) => name)).to.deep.equal(
      (await shippedMigrations()).map(({ name }) => name),
    );
  });

  it('applies each migration exactly once when several instances migrate one empty database at the same time', async () => {
    const directory = await copyOfSqlFolder();
    // A second migration that would fail if applied twice (the table exists), and counts its runs.
    await writeFile(
      path.join(directory, '9002_count_runs.sql'),
      'create table migration_runs (run int);\ninsert into migration_runs values (1);\n',
    );
    const databaseUrl = await createEmptyDatabase('migrate_concurrent');
    const instances = 6;

    const applied = await Promise.all(Array.from({ length: instances }, () => migrate(databaseUrl, silentLog, directory)));

    const names = [...(await shippedMigrations()).map(({ name }) => name), '9002_count_runs.sql'];
    // The advisory lock lets one instance apply everything; the others then find nothing to do.
    expect(applied.filter((list) => list.length > 0)).to.deep.equal([names]);
    expect(applied.filter((list) => list.length === 0)).to.have.length(instances - 1);
    expect((await recordedMigrations(databaseUrl)).map(({ name }) => name)).to.deep.equal(names);
    const runs = await withSqlClient(databaseUrl, (client) => client.query('select run from migration_runs'));
    expect(runs.rows).to.deep.equal([{ run: 1 }]);
  });
});
