// `make bench-startup`: how long `make run` takes, on a data directory that already holds a
// migrated embedded database, from the command to an API that answers GET /ready with 200. The
// first start (initdb) is done once beforehand and not counted. Each start is stopped with SIGTERM
// to the whole process group (make and the node it runs). BENCH_API_DIR as for `make bench`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { findFreePort } from '../src/database/embedded-postgres.ts';
import os from 'node:os';
import path from 'node:path';
import { loadAverage } from './process-stats.ts';

const apiDir = path.resolve(process.env.BENCH_API_DIR ?? path.resolve(import.meta.dirname, '..'));
const runs = Number(process.env.BENCH_STARTUP_RUNS ?? 5);

/** Starts `make run` (or node src/server.ts), returns milliseconds until /ready answers 200. */
async function timeStart(command: string[], dataDir: string): Promise<number> {
  const port = await findFreePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    BETTER_AUTH_SECRET: 'bench-startup-secret-0123456789abcdef',
    PUSH: 'off',
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
  };
  delete env.DATABASE_URL;
  const startedAt = performance.now();
  // detached: its own process group, so one signal reaches make and the server it started.
  const child = spawn(command[0]!, command.slice(1), { cwd: apiDir, env, stdio: 'ignore', detached: true });
  const exited = once(child, 'exit');
  let readyMs: number | undefined;
  const deadline = startedAt + 60_000;
  while (performance.now() < deadline && child.exitCode === null) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/ready`);
      if (response.status === 200) {
        readyMs = performance.now() - startedAt;
        break;
      }
    } catch {
      // not yet listening
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
  // make exits as soon as its child does; give the server's PostgreSQL its own stop time.
  await new Promise((resolve) => setTimeout(resolve, 500));
  if (readyMs === undefined) throw new Error(`${command.join(' ')} was not ready within 60 s`);
  return readyMs;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tasks-api-startup-'));
await chmod(dataDir, 0o755);
try {
  console.log(`make bench-startup: load average at start ${loadAverage()}; API from ${apiDir}`);
  const first = await timeStart([process.execPath, 'src/server.ts'], dataDir);
  console.log(`first start (initdb + migrations, not counted): ${Math.round(first)} ms`);
  // `make run` reinstalls (npm ci) when the lockfile is newer than the last install: that is not a
  // start-up, so it is timed only when the install is current.
  const stamp = path.join(apiDir, 'node_modules/.install-stamp');
  const installed = existsSync(stamp) && ['package.json', 'package-lock.json'].every((file) => statSync(path.join(apiDir, file)).mtimeMs <= statSync(stamp).mtimeMs);
  if (!installed) console.log('make run is not timed: its install is not current (run `make install` first); timing node src/server.ts only');
  const results: Record<string, number[]> = installed ? { 'make run': [], 'node src/server.ts': [] } : { 'node src/server.ts': [] };
  for (let run = 0; run < runs; run += 1) {
    if (installed) results['make run']!.push(await timeStart(['make', '--no-print-directory', 'run'], dataDir));
    results['node src/server.ts']!.push(await timeStart([process.execPath, 'src/server.ts'], dataDir));
  }
  const summary = Object.fromEntries(
    Object.entries(results).map(([name, values]) => [name, { medianMs: Math.round(median(values)), runsMs: values.map(Math.round) }]),
  );
  for (const [name, result] of Object.entries(summary)) {
    console.log(`${name.padEnd(20)} to ready: median ${result.medianMs} ms  (runs: ${result.runsMs.join(', ')} ms)`);
  }
  console.log(JSON.stringify({ loadAverageAtEnd: loadAverage(), apiDir, ...summary }));
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
