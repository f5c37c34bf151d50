/** `uplink up|down|force|block|unblock NAME` and `uplink unforce`: one RPC each, answered once the kernel reflects it. */
import { rpc } from '../control/client.js';
import { UplinkError } from '../errors.js';
import type { Command } from './commands.js';

export function adminCommand(action: 'up' | 'down' | 'force' | 'block' | 'unblock', summary: string): Command {
  return {
    summary,
    async run({ socket, args }) {
      const name = args[0];
      if (!name) throw new UplinkError('USAGE', `${action} needs an uplink NAME`, `uplink ${action} wan1`);
      const r = (await rpc(socket, action, { name })) as { message: string };
      console.log(r.message);
      return 0;
    },
  };
}

export const unforceCommand: Command = {
  summary: 'return to automatic selection',
  async run({ socket }) {
    console.log(((await rpc(socket, 'unforce')) as { message: string }).message);
    return 0;
  },
};

/** `uplink demand NAME on|off`: dialing on demand at run time (diald's demand/nodemand). */
export const demandCommand: Command = {
  summary: 'switch dialing on demand of a demand uplink on or off (NAME on|off)',
  async run({ socket, args }) {
    const [name, mode] = args;
    if (!name || (mode !== 'on' && mode !== 'off')) throw new UplinkError('USAGE', 'demand needs an uplink NAME and on or off', 'uplink demand lte off');
    console.log(((await rpc(socket, 'demand', { name, on: mode === 'on' })) as { message: string }).message);
    return 0;
  },
};
