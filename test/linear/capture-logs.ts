import { createLogger, type Logger } from '../../src/log.js';

export interface CapturedLog {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A debug-level logger whose JSON lines are kept in memory. */
export function captureLogs(): { logger: Logger; text: () => string; entries: () => CapturedLog[] } {
  const chunks: string[] = [];
  const destination = { write: (s: string) => chunks.push(s) } as unknown as NodeJS.WritableStream;
  const logger = createLogger({ level: 'debug', destination });
  const text = () => chunks.join('');
  const entries = () =>
    text()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as CapturedLog);
  return { logger, text, entries };
}

/** pino's numeric levels. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;
