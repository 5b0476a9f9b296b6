// Runs the real entry point (src/server.ts) or a script as a child process on the pinned Node, and
// reads what it says: pino JSON lines on stdout, plain text on stderr. Every wait is bounded, and
// `stopAll()` (an after hook) leaves no server, and no PostgreSQL of theirs, running.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const projectRoot = path.resolve(import.meta.dirname, '../..');

/** A process environment with nothing from the outer one but what running programs needs. */
export function cleanEnvironment(settings: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const kept = ['PATH', 'HOME', 'TMPDIR', 'LANG'].filter((name) => process.env[name] !== undefined);
  return { ...Object.fromEntries(kept.map((name) => [name, process.env[name]])), ...settings };
}

export type LogLine = { readonly level: number; readonly msg?: string; readonly [key: string]: unknown };

export type Exit = { readonly code: number | null; readonly signal: NodeJS.Signals | null };

export type RunningProcess = {
  readonly child: ChildProcess;
  readonly startedAt: number;
  /** Parsed JSON lines from stdout, in order (lines that are not JSON are kept as `{ msg }`). */
  readonly logs: LogLine[];
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the first log line that matches, or rejects after `timeoutMs` or when the process exits first. */
  readonly waitForLog: (matches: (line: LogLine) => boolean, timeoutMs: number) => Promise<LogLine>;
  /** Resolves when the process has exited; rejects after `timeoutMs`. */
  readonly waitForExit: (timeoutMs: number) => Promise<Exit & { readonly elapsedMs: number }>;
  readonly exited: () => Exit | undefined;
};

const running = new Set<RunningProcess>();

export type RunOptions = {
  /** Where it runs (default: this checkout). */
  readonly cwd?: string;
  /** Run as this user and group (the test runs as root), as a container's USER does. */
  readonly uid?: number;
  readonly gid?: number;
};

export function runNode(script: string, args: readonly string[], env: NodeJS.ProcessEnv, options: RunOptions = {}): RunningProcess {
  // process.execPath: the Node this suite runs on (the pinned one), never `npm start`, whose
  // signals would not reach the server.
  const child = spawn(process.execPath, [script, ...args], {
    cwd: options.cwd ?? projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
  });
  const startedAt = performance.now();
  const logs: LogLine[] = [];
  let stdout = '';
  let stderr = '';
  let pending = '';
  let exit: Exit | undefined;
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((listener) => listener());

  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines.filter((text) => text.trim() !== '')) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ level: 0, msg: line });
      }
    }
    notify();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const closed = new Promise<void>((resolve) =>
    child.once('close', (code, signal) => {
      exit = { code, signal };
      running.delete(run);
      notify();
      resolve();
    }),
  );

  const run: RunningProcess = {
    child,
    startedAt,
    logs,
    stdout: () => stdout,
    stderr: () => stderr,
    exited: () => exit,
    waitForLog: (matches, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const line = logs.find(matches);
          if (line) finish(() => resolve(line));
          else if (exit) finish(() => reject(new Error(`${script} exited (${JSON.stringify(exit)}) before the expected log line.\nstdout:\n${stdout}\nstderr:\n${stderr}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`no matching log line from ${script} within ${timeoutMs} ms.\nstdout:\n${stdout}\nstderr:\n${stderr}`))),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      }),
    waitForExit: async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${script} still running after ${timeoutMs} ms.\nstdout:\n${stdout}\nstderr:\n${stderr}`)), timeoutMs);
      });
      try {
        await Promise.race([closed, timeout]);
      } finally {
        clearTimeout(timer);
      }
      return { ...exit!, elapsedMs: performance.now() - startedAt };
    },
  };
  running.add(run);
  return run;
}

/** Runs a script to completion (bounded) and returns its exit and output. */
export async function runNodeToEnd(script: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number, options: RunOptions = {}) {
  const run = runNode(script, args, env, options);
  const exit = await run.waitForExit(timeoutMs);
  return { ...exit, stdout: run.stdout(), stderr: run.stderr(), logs: run.logs };
}

/** The pid in DATA_DIR/postgres/postmaster.pid, when that file exists. */
export function postmasterPid(dataDirectory: string): number | undefined {
  const file = path.join(dataDirectory, 'postgres', 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Processes (Linux /proc) whose command line mentions `directory`, e.g. initdb or postgres for a DATA_DIR. */
export function processesUsing(directory: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (commandLine.includes(directory)) found.push(`${entry} ${commandLine}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Polls (bounded) until `pid` is gone; returns whether it went. */
export async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (isRunning(pid) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  return !isRunning(pid);
}

/**
 * For after hooks: ends every process this module started that is still running (SIGTERM, then
 * SIGKILL after a grace period), and stops any PostgreSQL left in the given data directories (a
 * server killed with SIGKILL cannot stop its own).
 */
export async function stopAll(dataDirectories: readonly string[] = []): Promise<void> {
  await Promise.all(
    [...running].map(async (run) => {
      run.child.kill('SIGTERM');
      await run.waitForExit(5_000).catch(async () => {
        run.child.kill('SIGKILL');
        await run.waitForExit(2_000).catch(() => {});
      });
    }),
  );
  for (const directory of dataDirectories) {
    const pid = postmasterPid(directory);
    if (pid === undefined || !isRunning(pid)) continue;
    // SIGINT is PostgreSQL's "fast shutdown"; SIGQUIT if that does not do it.
    process.kill(pid, 'SIGINT');
    if (!(await waitUntilGone(pid, 5_000))) process.kill(pid, 'SIGQUIT');
    await waitUntilGone(pid, 2_000);
  }
}
