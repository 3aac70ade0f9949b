import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Keys whose values are secrets wherever they appear in a log object. */
export const REDACTED_KEYS = [
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'secret',
  'password',
  'authorization',
  'Authorization',
  'privateKey',
  'cookie',
  'set-cookie',
];

const redactPaths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `req.headers.${k.toLowerCase()}`, `res.headers.${k.toLowerCase()}`]);

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Human-readable output (pino-pretty) instead of JSON lines. */
  pretty?: boolean;
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const base = {
    level: opts.level ?? 'info',
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (opts.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return opts.destination ? pino(base, opts.destination as pino.DestinationStream) : pino(base);
}

/** A logger that writes nothing, for tests and for modules used without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
