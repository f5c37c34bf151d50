/** `uplink monitor [--json]`: the live event stream until Ctrl-C or the daemon stops; `uplink events`: the kept ones. */
import { ControlClient, rpc } from '../control/client.js';
import { parseDuration } from '../config/duration.js';
import { EVENT_TYPES, type DaemonEvent } from '../events/bus.js';
import { UsageError, usageLine, type Command } from './args.js';

export function formatEvent(e: DaemonEvent): string {
  const t = e.time.slice(11, 23);
  switch (e.type) {
    case 'kernel':
      return `${t} kernel     ${e.summary}`;
    case 'reconcile':
      return `${t} reconcile  ${e.error ? `FAILED (${e.error}): ` : ''}${e.commands.join('; ')}`;
    case 'config':
      return `${t} config     ${e.message}`;
    case 'daemon':
      return `${t} daemon     ${e.message}`;
    case 'uplink':
      return `${t} uplink     ${e.name}: ${e.event === 'state' ? `${e.prev} → ${e.state}` : e.event} (${e.reason})`;
    case 'firewall':
      return `${t} firewall   ${e.ok ? '' : 'PROBLEM: '}${e.message}`;
    case 'selection':
      return `${t} selection  ${e.prev ?? 'nothing'} → ${e.selected ?? 'nothing'} (${e.reason})`;
    case 'hook':
      return `${t} hook       ${e.uplink} ${e.event}: ${e.hook} ${e.ok ? 'ok' : 'FAILED'} (${e.message})`;
    case 'job':
      return `${t} job        ${e.name}: ${e.message}`;
    case 'routed':
      return `${t} routed     ${e.message}`;
    case 'demand':
      return `${t} demand     ${e.name}: ${e.message}`;
    case 'conntrack':
      return `${t} conntrack  ${e.ok ? '' : 'PROBLEM: '}${e.message}`;
    case 'apply':
      return `${t} apply      ${e.action.toUpperCase()}: ${e.message}`;
    case 'announce':
      return `${t} announce   ${e.uplink} ${e.updater} ${e.address}: ${e.ok ? '' : e.disabled ? 'DISABLED: ' : 'FAILED: '}${e.message}`;
    case 'notify':
      return `${t} notify     ${e.ok ? '' : 'FAILED: '}${e.channel}: ${e.message}`;
    case 'schedule':
      return `${t} schedule   ${e.ok ? '' : 'FAILED: '}${e.message}`;
  }
}

/** `uplink events [--since DURATION] [--type T]`: the recent events the daemon keeps (bounded). */
export const events: Command = {
  summary: 'print the recent events the daemon keeps (with --json, one JSON object per line)',
  options: {
    since: { type: 'string', value: 'DURATION', help: 'only events of the last DURATION, e.g. 10m' },
    type: { type: 'string', value: 'TYPE', help: `only events of this type (${EVENT_TYPES.join(', ')})` },
  },
  async run({ socket, json, opts }) {
    const since = typeof opts.since === 'string' ? sinceMs(opts.since) : undefined;
    const type = typeof opts.type === 'string' ? opts.type : undefined;
    if (type !== undefined && !(EVENT_TYPES as readonly string[]).includes(type))
      throw new UsageError(
        `"${type}" is not an event type`,
        `event types: ${EVENT_TYPES.join(', ')}`,
        usageLine('events', events),
      );
    const list = (await rpc(socket, 'events', {
      ...(since !== undefined ? { sinceMs: since } : {}),
      ...(type ? { type } : {}),
    })) as DaemonEvent[];
    for (const e of list) console.log(json ? JSON.stringify(e) : formatEvent(e));
    return 0;
  },
};

function sinceMs(text: string): number {
  try {
    return parseDuration(text);
  } catch (e) {
    throw new UsageError(
      `--since ${text}: ${(e as Error).message.split(' — ')[0]}`,
      'write a duration like 10m or 1h',
      usageLine('events', events),
    );
  }
}

export const monitor: Command = {
  summary: 'stream events as they happen (with --json, one JSON object per line)',
  options: { history: { type: 'boolean', help: 'first replay the recent events the daemon keeps' } },
  async run({ socket, json, opts }) {
    const c = new ControlClient(socket);
    await c.connect();
    c.onEvent((e) => console.log(json ? JSON.stringify(e) : formatEvent(e as DaemonEvent)));
    await c.call('monitor', { history: opts.history === true });
    if (!json) console.error('monitoring uplinkd events (Ctrl-C to stop)');
    await c.closed();
    return 0;
  },
};
