// `make bench-queries`: how fast listTasks answers at scale. Not a test (timings depend on the
// machine); it prints figures and query plans for a person to read, and flags what breaks the
// targets: a case over BENCH_TARGET_MS (20) of server time at p95, or a plan with a sequential
// scan of tasks.
//
// A fresh embedded PostgreSQL in a temporary folder, the real migrations, 1,000,000 tasks (one
// user owns 100,000; the rest belong to 9,000 others) seeded by one INSERT … SELECT over
// generate_series, VACUUM ANALYZE, then the real app in this process with production settings
// (no response validation, logging off). For every sort (both directions), with no filter and
// with each filter, the first page and page 200 of 50 along the cursor chain (reached by following
// cursors); plus searches. Recurring-heavy: a third of the tasks recur (half of those with a due
// date), so `recurring=true` is a case for every sort; the completion history holds about
// 1,300,000 completions (three per recurring task, one per completed task), read per task and
// across all tasks (first and deep pages, and "this week").
// Manual order (issue 12): a list of 10,000 tasks and a subtask tree's children with sort=position
// (first and deep page), and BENCH_MOVES (1,000) consecutive moves between the same two neighbours
// after 100 unmeasured ones (server time p95 against BENCH_MOVE_TARGET_MS, 5, and the longest
// position they produced).
// Each case is requested BENCH_REPEAT times (default 30), one at a time.
// Server time is from the request's arrival to the end of its response, measured in this process
// around the app; the round trip is what the HTTP client saw.
//
// Environment: BENCH_TASKS (default 1,000,000), BENCH_REPEAT, BENCH_TARGET_MS, BENCH_PLANS=all (print every plan, not only the
// ones of the cases that break a target, abridged), BENCH_KEEP=1 (keep the data folder),
// BENCH_DATA=<folder> (use that folder and keep it; when it already holds the 1,000,000 seeded
// tasks, skip seeding: reruns start in seconds), BENCH_CASES=<text> (only the cases whose name
// contains it, e.g. BENCH_CASES=search).
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SignJWT } from 'jose';
import pg from 'pg';
import type { Interceptor } from 'slonik';
import { createApp } from '../src/app.ts';
import { createAuthenticator } from '../src/auth.ts';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.ts';
import { migrate } from '../src/database/migrations.ts';
import { createDatabasePool } from '../src/database/pool.ts';
import { createLogger } from '../src/logger.ts';

const repeat = Number(process.env.BENCH_REPEAT ?? 30);
const targetMs = Number(process.env.BENCH_TARGET_MS ?? 20);
const moveTargetMs = Number(process.env.BENCH_MOVE_TARGET_MS ?? 5);
const printAllPlans = process.env.BENCH_PLANS === 'all';
const reusedDirectory = process.env.BENCH_DATA;
const onlyCases = process.env.BENCH_CASES;
// BENCH_TASKS: fewer tasks for a quick smoke run of the harness itself (figures then mean little).
const totalTasks = Number(process.env.BENCH_TASKS ?? 1_000_000);
const heavyUser = 'bench-heavy-user';
const pageSize = 50;
const deepPage = 200;

const log = createLogger('warn');
const secret = 'bench-secret-0123456789abcdef0123456789';
const say = (message: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${message}`);
const load = () => os.loadavg().map((value) => value.toFixed(2)).join(' ');

const directory = reusedDirectory ? path.resolve(reusedDirectory) : await mkdtemp(path.join(os.tmpdir(), 'tasks-api-bench-'));
await mkdir(directory, { recursive: true });
await chmod(directory, 0o755);
say(`machine: ${os.cpus().length} cores, load average ${load()}; data in ${directory}`);
const database = await startEmbeddedPostgres({
  dataDirectory: directory,
  databaseName: 'bench',
  log,
  // Enough cache for the working set, as a production server would have; everything else default.
  settings: { shared_buffers: '1GB', maintenance_work_mem: '512MB', max_wal_size: '4GB' },
});

try {
  await migrate(database.url, log);
  const admin = new pg.Client({ connectionString: database.url });
  // The server stopping at the end (or after a failure) ends this connection; that is not news.
  admin.on('error', () => {});
  await admin.connect();

  let started = performance.now();
  // A kept folder that was seeded completely is used as it is (the seed is deterministic).
  const { rows: seeded } = await admin.query<{ count: string; completions: string }>(
    'select count(*)::text as count, (select count(*) from task_completions)::text as completions from tasks',
  );
  if (Number(seeded[0]!.count) === totalTasks && Number(seeded[0]!.completions) > 0) {
    say(`reusing the ${totalTasks.toLocaleString('en')} tasks already in ${directory}`);
  } else {
    if (Number(seeded[0]!.count) !== 0) await admin.query('truncate tasks, task_completions');
    // Seeding with the indexes in place would maintain them row by row; dropping the migration's
    // list indexes and building them again from their own definitions is faster and ends identical.
    const { rows: indexes } = await admin.query<{ indexname: string; indexdef: string }>(
      "select indexname, indexdef from pg_indexes where tablename in ('tasks', 'task_completions') and indexname not in ('tasks_pkey', 'task_completions_pkey')",
    );
    for (const { indexname } of indexes) await admin.query(`drop index ${indexname}`);

    say(`seeding ${totalTasks.toLocaleString('en')} tasks (one INSERT … SELECT)`);
    started = performance.now();
    await admin.query('select setseed(0.4242)');
    await admin.query(
      `
      with words(list) as (
        select array['report','invoice','meeting','call','email','review','plan','budget','design','deploy',
                     'fix','bug','write','read','book','ticket','order','buy','milk','bread','garden','car',
                     'doctor','dentist','school','homework','project','launch','draft','slides','client',
                     'contract','team','lunch','gym','run','clean','kitchen','laundry','taxes','insurance',
                     'flight','hotel','visa','passport','birthday','gift','party','groceries','recipe',
                     'quarterly','weekly','monthly','annual','roadmap','hiring','interview','onboarding',
                     'security','audit','backup','migration','database','server','release','sprint',
                     'retro','standup','feedback','survey','newsletter','blog','podcast','video','photo',
                     'museum','concert','cinema','holiday','beach','mountain','bike','repair','plumber',
                     'electrician','paint','furniture','move','apartment','rent','mortgage','bank','loan',
                     'pension','savings','xylophone','zeppelin','quokka']
      ),
      tag_names(list) as (
        select array['work','home','errands','q4','health','finance','family','urgent','someday','travel',
                     'shopping','school','garden','car','reading','fitness','admin','ideas','waiting','team',
                     'client','personal','bills','calls','email','project-x','project-y','weekend','morning','evening']
      ),
      draws as (
        select g as i, random() as r_owner, random() as r_created, random() as r_updated, random() as r_status,
               random() as r_priority, random() as r_tags, floor(random() * 30)::int as tag_start,
               random() as r_due, random() as r_due_at, random() as r_description, random() as r_recur,
               -- Squared: a few words are common, most are rare, as in real text.
               power(random(), 2) as w1, power(random(), 2) as w2, power(random(), 2) as w3,
               power(random(), 2) as w4, power(random(), 2) as w5, random() as w6
        from generate_series(1, ${totalTasks}) as g
      ),
      shaped as (
        select d.*,
               case when r_owner < 0.1 then '${heavyUser}' else 'user-' || (i % 9000) end as owner,
               now() - r_created * interval '730 days' as created,
               case when r_status < 0.5 then 'pending' when r_status < 0.7 then 'in_progress' else 'completed' end as status
        from draws d
      )
      insert into tasks (owner_user_id, title, description, status, completed_at, created_at, updated_at, priority, tags, due_at,
                         recurrence_rule, recurrence_time_zone, recurrence_basis, position)
      select owner,
             initcap(w.list[1 + floor(w1 * cardinality(w.list))::int]) || ' ' || w.list[1 + floor(w2 * cardinality(w.list))::int] || ' ' || w.list[1 + floor(w3 * cardinality(w.list))::int],
             case when r_description < 0.5 then null
                  else 'Notes: ' || w.list[1 + floor(w4 * cardinality(w.list))::int] || ' and ' || w.list[1 + floor(w5 * cardinality(w.list))::int] || ' before the ' || w.list[1 + floor(w6 * cardinality(w.list))::int] || '.' end,
             status,
             case when status = 'completed' then least(now(), created + r_updated * interval '30 days') end,
             created,
             least(now(), created + r_updated * interval '30 days'),
             case when r_priority < 0.25 then 'low' when r_priority < 0.75 then 'medium' else 'high' end,
             case when r_tags < 0.3 then '{}'::text[]
                  when r_tags < 0.65 then array[initcap(t.list[1 + tag_start])]
                  when r_tags < 0.9 then array[t.list[1 + tag_start], t.list[1 + (tag_start + 7) % 30]]
                  else array[t.list[1 + tag_start], t.list[1 + (tag_start + 7) % 30], t.list[1 + (tag_start + 13) % 30]] end,
             case when r_due < 0.6 then date_trunc('hour', now() + (r_due_at * 180 - 60) * interval '1 day') end,
             -- Half the tasks with a due date recur (a third of all): recurring-heavy.
             case when r_due < 0.6 and r_recur < 0.5 then
               (array['FREQ=DAILY', 'FREQ=WEEKLY;BYDAY=MO,WE', 'FREQ=MONTHLY;BYMONTHDAY=-1'])[1 + floor(r_recur * 6)::int] end,
             case when r_due < 0.6 and r_recur < 0.5 then 'Europe/Paris' end,
             case when r_due < 0.6 and r_recur < 0.5 then 'due' end,
             -- A distinct fractional-indexing key per task ('d' and i in four base-62 digits), as migration 0009 gives.
             'd' || substr(digits, (i / 238328) % 62 + 1, 1) || substr(digits, (i / 3844) % 62 + 1, 1)
                 || substr(digits, (i / 62) % 62 + 1, 1) || substr(digits, i % 62 + 1, 1)
      from shaped, words w, tag_names t,
           (select '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'::text as digits) as base62`,
    );
    // The completion history: three completions of each recurring task (its last three
    // occurrences) and one of each completed task; change_seq unique, as the clock makes it.
    await admin.query(`
      insert into task_completions (owner_user_id, task_id, occurrence_due_at, completed_at, change_seq)
      select owner_user_id, id, due_at - k * interval '1 day', least(now(), due_at - k * interval '1 day' + interval '2 hours'),
             row_number() over ()
      from tasks, generate_series(1, 3) as k
      where recurrence_rule is not null
      union all
      select owner_user_id, id, due_at, completed_at, 10000000 + row_number() over ()
      from tasks
      where status = 'completed'`);
    say(`seeded in ${((performance.now() - started) / 1000).toFixed(1)} s; building ${indexes.length} indexes`);
    started = performance.now();
    await admin.query("set maintenance_work_mem = '512MB'");
    for (const { indexdef } of indexes) await admin.query(indexdef);
    await admin.query('vacuum analyze tasks');
    await admin.query('vacuum analyze task_completions');
  }
  // Manual order (issue 12): one list of the heavy user's holding 10,000 of their tasks, and one of
  // their inbox tasks with 50 subtasks. Made once per data folder (a kept one already has them).
  const manualListName = 'Manual order';
  let manualListId = (await admin.query<{ id: string }>('select id from lists where owner_user_id = $1 and name = $2', [heavyUser, manualListName])).rows[0]?.id;
  if (manualListId === undefined) {
    manualListId = (
      await admin.query<{ id: string }>("insert into lists (owner_user_id, name, position, change_seq) values ($1, $2, 'a0', 1) returning id", [
        heavyUser,
        manualListName,
      ])
    ).rows[0]!.id;
    await admin.query(
      'update tasks set list_id = $2 where id in (select id from tasks where owner_user_id = $1 and list_id is null and parent_id is null order by id limit 10000)',
      [heavyUser, manualListId],
    );
    const parentId = (await admin.query<{ id: string }>('select id from tasks where owner_user_id = $1 and list_id is null order by id limit 1', [heavyUser])).rows[0]!.id;
    await admin.query(
      `update tasks set parent_id = $2, ancestor_ids = array[$2::uuid]
       where id in (select id from tasks where owner_user_id = $1 and list_id is null and id <> $2 order by id limit 50)`,
      [heavyUser, parentId],
    );
    await admin.query('vacuum analyze tasks');
  }
  const treeParentId = (
    await admin.query<{ id: string }>('select parent_id as id from tasks where owner_user_id = $1 and parent_id is not null limit 1', [heavyUser])
  ).rows[0]!.id;

  const { rows: sizes } = await admin.query<{ table: string; indexes: string; heavy: string; recurring: string; completions: string; heavy_completions: string }>(
    `select pg_size_pretty(pg_table_size('tasks')) as table, pg_size_pretty(pg_indexes_size('tasks')) as indexes,
            (select count(*) from tasks where owner_user_id = $1)::text as heavy,
            (select count(*) from tasks where owner_user_id = $1 and recurrence_rule is not null)::text as recurring,
            (select count(*) from task_completions)::text as completions,
            (select count(*) from task_completions where owner_user_id = $1)::text as heavy_completions`,
    [heavyUser],
  );
  say(
    `indexes built and analysed in ${((performance.now() - started) / 1000).toFixed(1)} s; table ${sizes[0]!.table}, ` +
      `indexes ${sizes[0]!.indexes}; ${heavyUser} owns ${sizes[0]!.heavy} tasks (${sizes[0]!.recurring} recurring); ` +
      `${sizes[0]!.completions} completions (${sizes[0]!.heavy_completions} of ${heavyUser})`,
  );
  const { rows: sample } = await admin.query<{ id: string }>(
    "select id from tasks where owner_user_id = $1 and recurrence_rule = 'FREQ=DAILY' order by id limit 1",
    [heavyUser],
  );

  // The app as production runs it, with two additions around it: the time each request spends in
  // the server, and the last SQL statement each request sent (for its plan).
  let lastStatement: { sql: string; values: readonly unknown[] } | undefined;
  const recorder: Interceptor = {
    name: 'bench-statement-recorder',
    beforeQueryExecution: (_context, query) => {
      lastStatement = { sql: query.sql, values: [...query.values] };
      return null;
    },
  };
  const pool = await createDatabasePool(database.url, { maxPoolSize: 10, interceptors: [recorder] });
  const app = createApp({
    context: { db: pool, isShuttingDown: () => false },
    authenticate: createAuthenticator({ secret: { secret, issuer: undefined, audience: undefined } }),
    log,
    bodyLimitBytes: 65_536,
    validateResponses: false,
  });
  let serverMs = 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const arrived = performance.now();
    response.on('finish', () => {
      serverMs = performance.now() - arrived;
    });
    app(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ sub: heavyUser, iat: now, exp: now + 24 * 3600 })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));

  type Answer = { status: number; rows: number; next: string | undefined; serverMs: number; roundTripMs: number };
  async function get(url: string): Promise<Answer> {
    const sent = performance.now();
    const response = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await response.json()) as unknown[];
    const roundTripMs = performance.now() - sent;
    if (response.status !== 200) throw new Error(`${url}: ${response.status} ${JSON.stringify(body)}`);
    const next = /<([^>]+)>; rel="next"/.exec(response.headers.get('link') ?? '')?.[1];
    return { status: response.status, rows: body.length, next, serverMs, roundTripMs };
  }

  /** The URL of page `deepPage` of `pageSize` along the cursor chain (or the deepest page there is). */
  async function deepUrl(query: string, collection = '/api/tasks'): Promise<{ url: string; page: number }> {
    const target = (deepPage - 1) * pageSize;
    let url = `${collection}?${query}${query ? '&' : ''}limit=200`;
    let skipped = 0;
    for (;;) {
      const answer = await get(url);
      if (!answer.next) return { url: url.replace(/limit=\d+/, `limit=${pageSize}`), page: Math.floor(skipped / pageSize) + 1 };
      skipped += answer.rows;
      const remaining = target - skipped;
      if (remaining === 0) return { url: answer.next.replace(/limit=\d+/, `limit=${pageSize}`), page: deepPage };
      url = answer.next.replace(/limit=\d+/, `limit=${Math.min(200, remaining)}`);
    }
  }

  const percentile = (values: number[], p: number) => {
    const ordered = [...values].sort((a, b) => a - b);
    return ordered[Math.min(ordered.length - 1, Math.ceil((p / 100) * ordered.length) - 1)]!;
  };

  type Result = { name: string; page: number; rows: number; server: number[]; roundTrip: number[]; plan: string[] };
  const results: Result[] = [];

  const selected = (name: string) => onlyCases === undefined || name.includes(onlyCases);

  async function measure(name: string, url: string, page: number) {
    await get(url); // warm: the first request of a shape pays for plan and cache misses
    const server: number[] = [];
    const roundTrip: number[] = [];
    let rows = 0;
    for (let index = 0; index < repeat; index += 1) {
      const answer = await get(url);
      server.push(answer.serverMs);
      roundTrip.push(answer.roundTripMs);
      rows = answer.rows;
    }
    const statement = lastStatement!;
    const { rows: planRows } = await admin.query<{ 'QUERY PLAN': string }>(
      `explain (analyze, buffers, costs off) ${statement.sql}`,
      statement.values as unknown[],
    );
    results.push({ name, page, rows, server, roundTrip, plan: planRows.map((row) => row['QUERY PLAN']) });
  }

  const dueFrom = new Date(Date.now()).toISOString();
  const dueTo = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const filters: [string, string][] = [
    ['no filter', ''],
    ['status=pending', 'status=pending'],
    ['priority=high', 'priority=high'],
    ['tag=work', 'tag=work'],
    ['due in the next 30 days', `due_after=${encodeURIComponent(dueFrom)}&due_before=${encodeURIComponent(dueTo)}`],
    ['overdue=true', 'overdue=true'],
    ['recurring=true', 'recurring=true'],
  ];
  const sorts = ['-created_at', 'created_at', '-updated_at', 'updated_at', 'due_at', '-due_at', 'priority', '-priority', 'title', '-title'];
  const searches: [string, string][] = [
    ['search a common word (q=report)', 'q=report'],
    ['search a rare word (q=quokka)', 'q=quokka'],
    ['search two words, the last a prefix (q=weekly rev)', `q=${encodeURIComponent('weekly rev')}`],
    ['search a short prefix (q=bu)', 'q=bu'],
    ['search a common word, then a prefix (q=report rev)', `q=${encodeURIComponent('report rev')}`],
    ['search + status + sort=due_at (q=report)', 'q=report&status=pending&sort=due_at'],
  ];

  const weekAgo = new Date(Date.now() - 7 * 86_400_000).toISOString();
  const histories: [string, string, string][] = [
    ['completions, all tasks (GET /api/completions)', '/api/completions', ''],
    ['completions this week (since=7 days ago)', '/api/completions', `since=${encodeURIComponent(weekAgo)}`],
    ["one task's completions (GET /api/tasks/{id}/completions)", `/api/tasks/${sample[0]!.id}/completions`, ''],
  ];
  say(`load average ${load()}; measuring ${sorts.length * filters.length * 2 + searches.length * 2 + histories.length * 2} cases × ${repeat}${onlyCases === undefined ? '' : ` (only those named …${onlyCases}…)`}`);
  for (const sort of sorts) {
    for (const [filterName, filter] of filters) {
      if (!selected(`sort=${sort}, ${filterName}`)) continue;
      const query = [filter, `sort=${sort}`].filter(Boolean).join('&');
      await measure(`sort=${sort}, ${filterName}`, `/api/tasks?${query}&limit=${pageSize}`, 1);
      const deep = await deepUrl(query);
      await measure(`sort=${sort}, ${filterName}`, deep.url, deep.page);
    }
  }
  for (const [name, query] of searches) {
    if (!selected(name)) continue;
    await measure(name, `/api/tasks?${query}&limit=${pageSize}`, 1);
    const deep = await deepUrl(query);
    await measure(name, deep.url, deep.page);
  }
  const manualCases: [string, string][] = [
    ['sort=position, a list of 10,000 tasks', `list_id=${manualListId}&parent_id=none&sort=position`],
    ["sort=position, a subtask tree's children", `parent_id=${treeParentId}&sort=position`],
  ];
  for (const [name, query] of manualCases) {
    if (!selected(name)) continue;
    await measure(name, `/api/tasks?${query}&limit=${pageSize}`, 1);
    const deep = await deepUrl(query);
    await measure(name, deep.url, deep.page);
  }

  // 1,000 consecutive moves between the same two neighbours of the 10,000-task list: X and Y take
  // turns being dropped right after A, so each lands in the gap the previous one just halved (the
  // worst case for key growth; the tasks around the gap are renumbered when a key would pass 24 characters).
  const moveCount = Number(process.env.BENCH_MOVES ?? 1000);
  const moveWarmUp = 100;
  const moveServerMs: number[] = [];
  let longestPosition = 0;
  if (selected('moves between two neighbours')) {
    const first = await fetch(`${base}/api/tasks?list_id=${manualListId}&parent_id=none&sort=position&limit=4`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const [anchor, , x, y] = (await first.json()) as { id: string }[];
    // Warm, as every other case is, but for a pool: each of its connections plans a prepared
    // statement afresh for its first five executions before it keeps a generic plan, so the first
    // ~50 moves of a new process pay for planning that a running server has long done.
    for (let move = -moveWarmUp; move < moveCount; move += 1) {
      const moved = move % 2 === 0 ? x! : y!;
      const response = await fetch(`${base}/api/tasks/${moved.id}/move`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ after_id: anchor!.id }),
      });
      const body = (await response.json()) as { position: string };
      if (response.status !== 200) throw new Error(`move: ${response.status} ${JSON.stringify(body)}`);
      if (move >= 0) moveServerMs.push(serverMs);
      longestPosition = Math.max(longestPosition, body.position.length);
    }
  }
  for (const [name, collection, query] of histories) {
    if (!selected(name)) continue;
    await measure(name, `${collection}?${query}${query ? '&' : ''}limit=${pageSize}`, 1);
    const deep = await deepUrl(query, collection);
    await measure(name, deep.url, deep.page);
  }
  say(`done; load average ${load()}`);

  const seqScan = (plan: string[]) => plan.some((line) => /Seq Scan on (tasks|task_completions)\b/.test(line));
  const fmt = (value: number) => value.toFixed(1).padStart(6);
  console.log(`\nper case: server time and round trip in ms over ${repeat} requests (page = page number of ${pageSize})`);
  console.log(`${'case'.padEnd(58)} page  rows  srv p50 srv p95  rtt p50 rtt p95  db ms  buffers  plan`);
  let failures = 0;
  for (const result of results) {
    const p95 = percentile(result.server, 95);
    const slow = p95 >= targetMs;
    const scan = seqScan(result.plan);
    if (slow || scan) failures += 1;
    const access = result.plan.find((line) => /Index|Bitmap|Scan/.test(line))?.trim().replace(/^->\s*/, '').replace(/ \(actual.*$/, '') ?? '';
    // From the one EXPLAIN ANALYZE run: the database's own time, and the pages it touched.
    const databaseMs = /Execution Time: ([\d.]+) ms/.exec(result.plan.join('\n'))?.[1] ?? '?';
    const buffers = /Buffers: shared hit=(\d+)(?: read=(\d+))?/.exec(result.plan.join('\n'));
    const pages = buffers ? Number(buffers[1]) + Number(buffers[2] ?? 0) : 0;
    console.log(
      `${result.name.padEnd(58)} ${String(result.page).padStart(4)} ${String(result.rows).padStart(5)} ${fmt(percentile(result.server, 50))}  ${fmt(p95)}   ${fmt(
        percentile(result.roundTrip, 50),
      )}  ${fmt(percentile(result.roundTrip, 95))} ${databaseMs.padStart(6)} ${String(pages).padStart(8)}  ${access.slice(0, 60)}${slow ? `  ⚠ p95 ≥ ${targetMs} ms` : ''}${scan ? '  ⚠ SEQ SCAN' : ''}`,
    );
  }
  if (moveServerMs.length > 0) {
    const moveP95 = percentile(moveServerMs, 95);
    const slowMoves = moveP95 > moveTargetMs;
    if (slowMoves) failures += 1;
    console.log(
      `\n${moveServerMs.length} moves between the same two neighbours: server p50 ${percentile(moveServerMs, 50).toFixed(1)} ms, ` +
        `p95 ${moveP95.toFixed(1)} ms, max ${Math.max(...moveServerMs).toFixed(1)} ms; longest position ${longestPosition} characters` +
        `${slowMoves ? `  ⚠ p95 > ${moveTargetMs} ms` : ''}`,
    );
  }
  const allServer = results.flatMap((result) => result.server);
  if (allServer.length > 0) console.log(
    `\nall cases: server p50 ${percentile(allServer, 50).toFixed(1)} ms, p95 ${percentile(allServer, 95).toFixed(1)} ms; ` +
      `worst case p95 ${Math.max(...results.map((result) => percentile(result.server, 95))).toFixed(1)} ms; ` +
      `${results.filter((result) => seqScan(result.plan)).length} plans with a Seq Scan on tasks or task_completions; load average now ${load()}`,
  );
  for (const result of results) {
    if (!printAllPlans && !seqScan(result.plan) && percentile(result.server, 95) < targetMs) continue;
    console.log(`\n--- plan: ${result.name}, page ${result.page}`);
    console.log(result.plan.join('\n'));
  }
  if (!printAllPlans) console.log('\n(BENCH_PLANS=all prints every plan)');
  console.log(failures === 0 ? `\nevery case under ${targetMs} ms at p95, no Seq Scan on tasks` : `\n${failures} case(s) flagged above`);

  server.close();
  await pool.end();
  await admin.end();
  process.exitCode = failures === 0 ? 0 : 1;
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await database.stop();
  if (process.env.BENCH_KEEP !== '1' && reusedDirectory === undefined) await rm(directory, { recursive: true, force: true });
}
