#!/usr/bin/env node
/** `uplink`: the command-line client. One module per command. */
import { isUplinkError, UplinkError } from '../errors.js';
import { COMMANDS, usage } from './commands.js';

const DEFAULT_SOCKET = '/run/uplinkd/uplinkd.sock';

async function main(argv: string[]): Promise<number> {
  let socket = process.env.UPLINKD_SOCKET ?? DEFAULT_SOCKET;
  while (argv[0]?.startsWith('--')) {
    const flag = argv.shift()!;
    if (flag === '--socket' && argv[0]) socket = argv.shift()!;
    else if (flag.startsWith('--socket=')) socket = flag.slice('--socket='.length);
    else if (flag === '--help') return (console.log(usage()), 0);
    else throw new UplinkError('USAGE', `unknown option ${flag}`, usage());
  }
  const name = argv.shift();
  if (!name || name === 'help') return (console.log(usage()), name ? 0 : 2);
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) throw new UplinkError('USAGE', `unknown command "${name}"`, usage());
  return cmd.run({ socket, args: argv });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    if (isUplinkError(e)) {
      console.error(`uplink: ${e.message}`);
      if (e.hint) console.error(`  hint: ${e.hint}`);
      process.exit(e.code === 'USAGE' ? 2 : 1);
    }
    console.error(e);
    process.exit(70);
  },
);
