/** pino logger: JSON lines by default (journald, log shippers), pretty for humans. */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Redactor } from '../model/redact.js';

export type LogFormat = 'json' | 'pretty';

/** Every line passes the redactor: secret values never reach the journal. */
export function createLogger(format: LogFormat, level = 'info', redactor?: Redactor): Logger {
  const hooks = redactor ? { streamWrite: (s: string) => redactor.applyJson(s) } : {};
  if (format === 'pretty') {
    return pino(
      { level, hooks },
      pretty({
        sync: true,
        colorize: process.stderr.isTTY,
        destination: 2,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
      }),
    );
  }
  return pino({ level, hooks, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
}
