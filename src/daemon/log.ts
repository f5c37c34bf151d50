/** pino logger: JSON lines by default (journald, log shippers), pretty for humans. */
import pino, { type Logger } from 'pino';
import { createRequire } from 'node:module';
import type { Redactor } from '../model/redact.js';
import { stderrIsJournal } from '../system/journal.js';

export type LogFormat = 'json' | 'pretty';

/** pino's levels as syslog priorities: fatal crit, error err, warn warning, info info, debug and trace debug. */
const PRIORITY: [number, number][] = [
  [60, 2],
  [50, 3],
  [40, 4],
  [30, 6],
  [0, 7],
];

/**
 * The journal's `<N>` prefix for a JSON line pino wrote (it starts `{"level":NN`), so that
 * `journalctl -p warning` filters; `-o cat` shows the JSON without it.
 */
export function journalLine(line: string): string {
  const level = Number(/^\{"level":(\d+)/.exec(line)?.[1] ?? 30);
  return `<${PRIORITY.find(([l]) => level >= l)![1]}>${line}`;
}

/** Every line passes the redactor: secret values never reach the journal. */
export function createLogger(
  format: LogFormat,
  level = 'info',
  redactor?: Redactor,
  journal = stderrIsJournal(),
): Logger {
  const redact = (s: string) => (redactor ? redactor.applyJson(s) : s);
  if (format === 'pretty') {
    // Only for pretty output (a human at a terminal): the JSON a service logs does without it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(
      { level, hooks: { streamWrite: redact } },
      pretty({
        sync: true,
        colorize: !journal && process.stderr.isTTY,
        destination: 2,
        // The journal stamps each line itself.
        translateTime: journal ? false : 'SYS:HH:MM:ss.l',
        ignore: journal ? 'pid,hostname,time' : 'pid,hostname',
      }),
    );
  }
  const streamWrite = journal ? (s: string) => journalLine(redact(s)) : redact;
  return pino({ level, hooks: { streamWrite }, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
}
