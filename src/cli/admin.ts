/** `uplink up|down|force|block|unblock NAME` and `uplink unforce`: one RPC each, answered once the kernel reflects it. */
import { rpc } from '../control/client.js';
import { UsageError, usageLine } from './args.js';
import type { Command, CommandContext } from './args.js';

/** Prints the daemon's answer: its message, or the whole reply with --json. */
export function printReply(ctx: CommandContext, r: unknown): number {
  console.log(ctx.json ? JSON.stringify(r) : ((r as { message?: string })?.message ?? 'ok'));
  return 0;
}

export function adminCommand(action: 'up' | 'down' | 'force' | 'block' | 'unblock', summary: string): Command {
  return {
    summary,
    args: ['NAME'],
    run: async (ctx) => printReply(ctx, await rpc(ctx.socket, action, { name: ctx.args[0] })),
  };
}

export const unforceCommand: Command = {
  summary: 'return to automatic selection',
  run: async (ctx) => printReply(ctx, await rpc(ctx.socket, 'unforce')),
};

/** `uplink job start|stop|restart NAME`: a stopped job stays stopped until `start`, across daemon restarts. */
export const jobCommand: Command = {
  summary: 'start, stop or restart a job',
  args: ['start|stop|restart', 'NAME'],
  async run(ctx) {
    const [action, name] = ctx.args;
    if (action !== 'start' && action !== 'stop' && action !== 'restart')
      throw new UsageError(
        `"${action}" is not start, stop or restart`,
        'uplink job restart vpn',
        usageLine('job', jobCommand),
      );
    return printReply(ctx, await rpc(ctx.socket, 'job', { action, name }));
  },
};

/** `uplink demand NAME on|off`: dialing on demand at run time (diald's demand/nodemand). */
export const demandCommand: Command = {
  summary: 'switch dialing on demand of a demand uplink on or off',
  args: ['NAME', 'on|off'],
  async run(ctx) {
    const [name, mode] = ctx.args;
    if (mode !== 'on' && mode !== 'off')
      throw new UsageError(
        `"${mode}" is neither on nor off`,
        'uplink demand lte off',
        usageLine('demand', demandCommand),
      );
    return printReply(ctx, await rpc(ctx.socket, 'demand', { name, on: mode === 'on' }));
  },
};
