#!/usr/bin/env node
/** `uplink`: the command-line client. One module per command; exit codes in usage(). */
import { isUplinkError } from '../errors.js';
import { VERSION } from '../version.js';
import { commandHelp, commandSpec, parseCommandLine, UsageError } from './args.js';
import { COMMANDS, usage } from './commands.js';

const DEFAULT_SOCKET = '/run/uplinkd/uplinkd.sock';

async function main(argv: string[]): Promise<number> {
  const top = usage().split('\n')[0]!;
  const line = parseCommandLine(argv, COMMANDS, top);
  if (line.version) return (console.log(`uplink ${VERSION}`), 0);
  const name = line.command;
  if (name === 'help') {
    const topic = line.args[0];
    if (topic === undefined) return (console.log(usage()), 0);
    return (console.log(commandHelp(topic, commandSpec(topic, COMMANDS, top))), 0);
  }
  if (!name) {
    if (line.help) return (console.log(usage()), 0);
    console.error(usage());
    return 2;
  }
  const cmd = COMMANDS[name]!;
  if (line.help) return (console.log(commandHelp(name, cmd)), 0);
  const socket = line.socket ?? process.env.UPLINKD_SOCKET ?? DEFAULT_SOCKET;
  return cmd.run({ socket, json: line.json, args: line.args, opts: line.opts });
}

/**
 * Exits once stdout and stderr are flushed: into a pipe they are written asynchronously, and
 * process.exit() at once cut a big `plan --json` off at 200 KB.
 */
function exit(code: number): void {
  let pending = 2;
  const done = () => --pending === 0 && process.exit(code);
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main(process.argv.slice(2)).then(exit, (e) => {
  if (isUplinkError(e)) {
    console.error(`uplink: ${e.message}`);
    if (e.hint) console.error(`  hint: ${e.hint}`);
    if (e instanceof UsageError) console.error(`  ${e.usage}`);
    return exit(e.code === 'USAGE' ? 2 : 1);
  }
  console.error(e);
  exit(70);
});
