/** `uplink reload` and `uplink quit`: one RPC call and a one-line answer. */
import { ControlClient } from '../control/client.js';
import { printReply } from './admin.js';
import type { Command } from './args.js';

export const reload: Command = {
  summary: 'reload the config file; a bad config is rejected and the running one kept',
  async run(ctx) {
    const c = new ControlClient(ctx.socket);
    await c.connect();
    try {
      return printReply(ctx, await c.call('reload'));
    } finally {
      c.close();
    }
  },
};

export const quit: Command = {
  summary: 'stop the daemon, leaving routes and processes in place',
  options: {
    teardown: { type: 'boolean', help: 'stop connect commands and remove every route, rule and table of ours' },
  },
  async run(ctx) {
    const teardown = ctx.opts.teardown === true;
    const c = new ControlClient(ctx.socket);
    await c.connect();
    await c.call('quit', { teardown });
    // The daemon closes us only after its socket and lock are released.
    await c.closed();
    const message = teardown
      ? 'uplinkd stopped; its routes, rules and connect processes are gone'
      : 'uplinkd stopped; routes, rules and connect processes left in place';
    return printReply(ctx, { stopped: true, teardown, message });
  },
};
