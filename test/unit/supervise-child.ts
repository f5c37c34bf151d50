/**
 * Helper for supervise.test.ts (not a test): a separate Node process that starts
 * `argv[2]` via Supervised.start (output to the log file `argv[3]`, if given), prints
 * {"pid","startTime"} as one JSON line and exits at once, like a daemon that quits or dies.
 */
import pino from 'pino';
import { Supervised } from '../../src/system/supervise.js';

const [command, logFile] = process.argv.slice(2);
if (!command) {
  process.stderr.write('usage: supervise-child COMMAND [LOGFILE]\n');
  process.exit(2);
}
const s = Supervised.start({ command, ...(logFile ? { logFile } : {}) }, pino({ level: 'silent' }));
process.stdout.write(`${JSON.stringify({ pid: s.pid, startTime: s.startTime })}\n`, () => process.exit(0));
