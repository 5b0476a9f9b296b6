// One logger for the process: pino JSON lines on stdout. Credentials never reach the log.
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogFormat } from './config.ts';

export type { Logger };

export type LoggerOptions = {
  readonly format?: LogFormat;
  readonly environment?: string;
  /** Where JSON lines go instead of stdout (tests read the log this way). */
  readonly destination?: DestinationStream;
};

// JSON lines are buffered and written in chunks of at least 4 KiB (pino's "asynchronous logging"):
// one write per line cost a file-system request per line (a thread-pool wake-up and its callback),
// 5.6% of the API's CPU under `make bench`, more than building the lines. A line waits at most
// flushIntervalMs; pino writes what is buffered when the process exits (signals and uncaught
// exceptions included). What a sudden kill (SIGKILL, power loss) can lose grows from the lines in
// flight to at most this buffer.
const bufferedBytes = 4096;
const flushIntervalMs = 250;

/**
 * `json`: one JSON object per line, written asynchronously in chunks (pino's sonic-boom destination,
 * flushed every 250 ms and on exit), so logging never blocks a request on a slow stdout. `pretty`: pino-pretty, a
 * devDependency, for a person reading a terminal. `auto`: pretty when stdout is a terminal outside
 * production and pino-pretty is installed; JSON otherwise (piped output, log collectors, tests).
 */
export function createLogger(
  level: string,
  { format = 'json', environment = 'development', destination }: LoggerOptions = {},
): Logger {
  const options = {
    level,
    base: { service: 'tasks-api' },
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'],
      censor: '[redacted]',
    },
  };
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true && environment !== 'production');
  if (pretty && !destination && prettyIsInstalled()) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } } });
  }
  return pino(options, destination ?? bufferedJsonLines(1));
}

/** The JSON lines destination of a server: file descriptor `fd`, buffered and flushed as above. */
export function bufferedJsonLines(fd: number): ReturnType<typeof pino.destination> {
  const lines = pino.destination({ dest: fd, sync: false, minLength: bufferedBytes });
  // A quiet server would otherwise hold its last lines until 4 KiB more arrive.
  setInterval(() => {
    try {
      lines.flush();
    } catch {
      // Destroyed at exit: pino has written the rest.
    }
  }, flushIntervalMs).unref();
  return lines;
}

// `npm ci --omit=dev` (production images) leaves pino-pretty out: then the log stays JSON.
function prettyIsInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves once every line logged so far has been written (or after `timeoutMs`, so a stuck stdout
 * cannot hold an exit). Call it before `process.exit`: pino's own flush at exit writes the buffered
 * lines synchronously but cannot wait for a chunk already being written asynchronously, which may
 * then land after the last line, or not at all.
 */
export function flushLog(log: Logger, timeoutMs = 2_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    log.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
