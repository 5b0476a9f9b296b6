// Migrations as a separate release step: an instance started with MIGRATE_ON_START=false leaves
// the schema alone, and `scripts/migrate.ts` (`make migrate`) applies it through
// DATABASE_MIGRATION_URL (the direct connection when DATABASE_URL goes through a pooler), after
// which the running instance serves without a restart.
import { readdir } from 'node:fs/promises';
import { expect } from 'chai';
import { startApiProcess } from '../support/api-process.ts';
import { newUser, testSecret } from '../support/api.ts';
import { createEmptyDatabase, withSqlClient } from '../support/database.ts';
import { cleanEnvironment, runNodeToEnd, stopAll } from '../support/server-process.ts';
import { migrationsDirectory } from '../../src/database/migrations.ts';

describe('migrations run as a release step', () => {
  after(async () => {
    await stopAll();
  });

  it('leaves the schema alone with MIGRATE_ON_START=false; scripts/migrate.ts applies it through DATABASE_MIGRATION_URL; the instance then serves', async function () {
    this.timeout(60_000);
    const databaseUrl = await createEmptyDatabase('release_step');
    const api = await startApiProcess({ DATABASE_URL: databaseUrl, BETTER_AUTH_SECRET: testSecret, MIGRATE_ON_START: 'false' });
    const tables = () =>
      withSqlClient(databaseUrl, (client) => client.query<{ name: string }>("select table_name as name from information_schema.tables where table_schema = 'public' order by 1"));
    expect(api.run.logs.filter((line) => line.msg === 'applied migration')).to.deep.equal([]);
    expect((await tables()).rows).to.deep.equal([]);

    // DATABASE_URL points nowhere: only DATABASE_MIGRATION_URL can be the one migrated.
    const step = await runNodeToEnd(
      'scripts/migrate.ts',
      [],
      cleanEnvironment({ NODE_ENV: 'production', BETTER_AUTH_SECRET: testSecret, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nowhere', DATABASE_MIGRATION_URL: databaseUrl }),
      30_000,
    );

    expect(step.code, step.stdout + step.stderr).to.equal(0);
    const files = (await readdir(migrationsDirectory)).filter((name) => /^\d{4}_.*\.sql$/.test(name)).sort();
    expect(step.logs.at(-1)).to.include({ msg: `applied ${files.length} migration(s)` });
    expect((await tables()).rows.map((row) => row.name)).to.include.members(['schema_migrations', 'tasks']);
    const recorded = await withSqlClient(databaseUrl, (client) => client.query<{ name: string }>('select name from schema_migrations order by version'));
    expect(recorded.rows.map((row) => row.name)).to.deep.equal(files);
    const alice = await newUser('alice');
    const created = await fetch(`${api.url}/api/tasks`, {
      method: 'POST',
      headers: { authorization: alice.authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'After the release step' }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(created.status).to.equal(201);
  });
});
