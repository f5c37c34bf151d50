/** The command table: each command lives in its own module. */
import { check } from './check.js';
import { demo } from './demo.js';
import { monitor } from './monitor.js';
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
  reload: simple('reload', 'reload the config file; a bad config is rejected and the running one kept'),
  quit: simple('quit', 'stop the daemon, leaving routes and processes in place'),
  check,
  schema,
  demo,
};

export function usage(): string {
  const rows = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(9)} ${c.summary}`);
  return `usage: uplink [--socket PATH] COMMAND [ARGS]\n\ncommands:\n${rows.join('\n')}`;
}
