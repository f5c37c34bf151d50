/** The command table: each command lives in its own module. */
import { adminCommand, demandCommand, unforceCommand } from './admin.js';
import { check } from './check.js';
import { demo } from './demo.js';
import { monitor } from './monitor.js';
import { plan } from './plan.js';
import { schema } from './schema.js';
import { simple } from './simple.js';
import { status } from './status.js';

export interface CommandContext {
  socket: string;
  args: string[];
}

export interface Command {
  summary: string;
  run(ctx: CommandContext): Promise<number>;
}

export const COMMANDS: Record<string, Command> = {
  status,
  monitor,
  up: adminCommand('up', 'bring an uplink up: allow it again, dial it if it has a connect command'),
  down: adminCommand('down', 'take an uplink down: hang it up and stop using it'),
  force: adminCommand('force', 'pin traffic to one uplink whatever its health'),
  unforce: unforceCommand,
  block: adminCommand('block', 'stop (re)dialing and selecting an uplink'),
  unblock: adminCommand('unblock', 'allow dialing and selecting an uplink again'),
  demand: demandCommand,
  reload: simple('reload', 'reload the config file; a bad config is rejected and the running one kept'),
  quit: simple('quit', 'stop the daemon, leaving routes and processes in place ([--teardown] removes them)'),
  check,
  plan,
  schema,
  demo,
};

export function usage(): string {
  const rows = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(9)} ${c.summary}`);
  return `usage: uplink [--socket PATH] COMMAND [ARGS]\n\ncommands:\n${rows.join('\n')}`;
}
