/** pino logger: JSON lines by default (journald, log shippers), pretty for humans. */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'json' | 'pretty';

export function createLogger(format: LogFormat, level = 'info'): Logger {
  if (format === 'pretty') {
    return pino(
      { level },
      pretty({
        sync: true,
        colorize: process.stderr.isTTY,
        destination: 2,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
      }),
    );
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
}
