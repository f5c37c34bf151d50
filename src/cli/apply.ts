/**
 * `uplink apply FILE --confirm SECONDS [--wait]`, `uplink confirm`, `uplink rollback`
 * (docs/apply.md). The daemon owns the deadline: apply returns at once (Ansible drives it)
 * unless --wait, which stays attached and rolls back if this connection drops.
 */
import { readFile } from 'node:fs/promises';
import { ControlClient, rpc } from '../control/client.js';
import type { DaemonEvent } from '../events/bus.js';
import { UplinkError } from '../errors.js';
import { printReply } from './admin.js';
import { UsageError, usageLine, type Command } from './args.js';

export const apply: Command = {
  summary: 'run a config FILE now; it rolls back by itself unless `uplink confirm` comes in time',
  args: ['FILE'],
  options: {
    confirm: { type: 'string', value: 'SECONDS', help: 'roll back after SECONDS without `uplink confirm` (required)' },
    wait: { type: 'boolean', help: 'stay attached until confirm or rollback; roll back if this command is killed' },
  },
  async run(ctx) {
    const file = ctx.args[0]!;
    const seconds = typeof ctx.opts.confirm === 'string' ? Number(ctx.opts.confirm) : Number.NaN;
    if (ctx.opts.confirm === undefined)
      throw new UsageError(
        'apply needs --confirm SECONDS',
        'e.g. --confirm 120: without a confirm by then it rolls back',
        usageLine('apply', apply),
      );
    if (!(seconds > 0) || !Number.isFinite(seconds))
      throw new UsageError(
        `--confirm needs a positive number of seconds, not "${ctx.opts.confirm}"`,
        undefined,
        usageLine('apply', apply),
      );
    const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new UplinkError('CONFIG_READ', `cannot read ${file}: ${e.code ?? e.message}`);
    });
    // One control request is at most 1 MiB (its JSON, escapes included).
    if (Buffer.byteLength(JSON.stringify(text)) > (1 << 20) - 4096)
      throw new UplinkError(
        'APPLY_TOO_BIG',
        `${file} is too big to apply through the control socket (1 MiB)`,
        'check it with `uplink plan FILE`, install it and `uplink reload`',
      );
    const wait = ctx.opts.wait === true;
    const c = new ControlClient(ctx.socket);
    await c.connect();
    const outcome = new Promise<DaemonEvent & { type: 'apply' }>((resolve) =>
      c.onEvent((e) => {
        const ev = e as DaemonEvent;
        if (ev.type === 'apply' && ev.action !== 'apply') resolve(ev);
      }),
    );
    try {
      const r = (await c.call('apply', { text, file, seconds, wait })) as { message: string; deadline: string };
      printReply(ctx, r);
      if (!wait) return 0;
      if (!ctx.json) console.log(`waiting for \`uplink confirm\` (Ctrl-C or a dropped session rolls back)`);
      const done = await Promise.race([outcome, c.closed().then(() => undefined)]);
      if (!done)
        throw new UplinkError(
          'DAEMON_GONE',
          'the daemon closed the connection',
          'the countdown goes on in the next daemon; see `uplink status`',
        );
      console.log(ctx.json ? JSON.stringify(done) : done.message);
      return done.action === 'confirm' ? 0 : 1;
    } finally {
      c.close();
    }
  },
};

export const confirm: Command = {
  summary: 'keep the pending apply and write it to the config file',
  run: async (ctx) => printReply(ctx, await rpc(ctx.socket, 'confirm')),
};

export const rollback: Command = {
  summary: 'undo the pending apply now: the last-good config and overrides run again',
  run: async (ctx) => printReply(ctx, await rpc(ctx.socket, 'rollback')),
};
