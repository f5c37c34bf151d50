/** The command table: each command lives in its own module and declares its arguments. */
import { apply, confirm, rollback } from './apply.js';
import { adminCommand, demandCommand, jobCommand, unforceCommand } from './admin.js';
import type { Command } from './args.js';
import { check } from './check.js';
import { dashboard } from './dashboard.js';
import { demo } from './demo.js';
import { events, monitor } from './monitor.js';
import { plan } from './plan.js';
import { schema } from './schema.js';
import { quit, reload } from './simple.js';
import { status } from './status.js';

export const COMMANDS: Record<string, Command> = {
  status,
  monitor,
  events,
  up: adminCommand('up', 'bring an uplink up: allow it again, dial it if it has a connect command'),
  down: adminCommand('down', 'take an uplink down: hang it up and stop using it'),
  force: adminCommand('force', 'pin traffic to one uplink whatever its health'),
  unforce: unforceCommand,
  block: adminCommand('block', 'stop (re)dialing and selecting an uplink'),
  unblock: adminCommand('unblock', 'allow dialing and selecting an uplink again'),
  demand: demandCommand,
  job: jobCommand,
  reload,
  apply,
  confirm,
  rollback,
  quit,
  check,
  plan,
  schema,
  dashboard,
  demo,
  help: { summary: "show the commands, or one command's options", args: ['[COMMAND]'], run: async () => 0 },
};

export function usage(): string {
  const rows = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(9)} ${c.summary}`);
  return [
    'usage: uplink [--socket PATH] [--json] COMMAND [ARGS]',
    '       uplink help [COMMAND] | uplink --version',
    '',
    'commands:',
    ...rows,
    '',
    'exit codes: 0 done, 1 failed (the daemon refused, is not running, or a check found problems),',
    '            2 usage error, 70 internal error (a bug: please report it)',
  ].join('\n');
}
