/** Commands that are one RPC call and a one-line answer. */
import { ControlClient } from '../control/client.js';
import type { Command } from './commands.js';

export function simple(method: 'reload' | 'quit', summary: string): Command {
  return {
    summary,
    async run({ socket, args }) {
      const c = new ControlClient(socket);
      await c.connect();
      const teardown = method === 'quit' && args.includes('--teardown');
      const result = (await c.call(method, method === 'quit' ? { teardown } : undefined)) as { message?: string };
      if (method === 'quit') {
        // The daemon closes us only after its socket and lock are released.
        await c.closed();
        console.log(teardown ? 'uplinkd stopped; its routes, rules and connect processes are gone' : 'uplinkd stopped; routes, rules and connect processes left in place');
      } else {
        c.close();
        console.log(result?.message ?? 'ok');
      }
      return 0;
    },
  };
}
