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
