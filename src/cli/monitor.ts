/** `uplink monitor [--json]`: the live event stream until Ctrl-C or the daemon stops. */
import { ControlClient } from '../control/client.js';
import type { DaemonEvent } from '../events/bus.js';
import type { Command } from './args.js';

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
    case 'job':
      return `${t} job        ${e.name}: ${e.message}`;
    case 'routed':
      return `${t} routed     ${e.message}`;
    case 'demand':
      return `${t} demand     ${e.name}: ${e.message}`;
    case 'conntrack':
      return `${t} conntrack  ${e.ok ? '' : 'PROBLEM: '}${e.message}`;
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
