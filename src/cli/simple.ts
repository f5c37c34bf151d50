/** Commands that are one RPC call and a one-line answer. */
import { ControlClient } from '../control/client.js';
import type { Command } from './commands.js';

export function simple(method: 'reload' | 'quit', summary: string): Command {
  return {
    summary,
    async run({ socket }) {
      const c = new ControlClient(socket);
      await c.connect();
      const result = (await c.call(method)) as { message?: string };
      if (method === 'quit') {
        // The daemon closes us only after its socket and lock are released.
        await c.closed();
        console.log('uplinkd stopped');
      } else {
        c.close();
        console.log(result?.message ?? 'ok');
      }
      return 0;
    },
  };
}
