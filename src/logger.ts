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

/**
 * `json`: one JSON object per line, written asynchronously (pino's sonic-boom destination, flushed
 * on exit), so logging never blocks a request on a slow stdout. `pretty`: pino-pretty, a
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
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
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
