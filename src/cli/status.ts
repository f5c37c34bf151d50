/** `uplink status [--json]`. */
import { rpc } from '../control/client.js';
import type { Status } from '../control/status.js';
import type { Command } from './commands.js';

const yes = (b: boolean) => (b ? 'yes' : 'no');

export function formatStatus(s: Status): string {
  const out: string[] = [];
  out.push(`uplinkd ${s.daemon.version} pid ${s.daemon.pid} since ${s.daemon.startedAt} (${s.daemon.system}), config ${s.daemon.config}`);
  out.push('', 'UPLINKS');
  if (!s.uplinks.length) out.push('  (none configured)');
  for (const u of s.uplinks) {
    const link = u.link.present ? `carrier ${yes(u.link.carrier)}, admin ${u.link.up ? 'up' : 'down'}` : 'interface absent';
    out.push(`  ${u.name.padEnd(12)} ${u.interface.padEnd(15)} ${u.mode.padEnd(7)} prio ${String(u.priority).padEnd(4)} table ${u.table}  ${link}  ${u.addresses.join(' ') || '-'}`);
  }
  out.push('', 'LINKS');
  for (const l of s.links) {
    out.push(`  ${String(l.index).padStart(3)} ${l.name.padEnd(15)} ${(l.up ? 'UP' : 'DOWN').padEnd(5)} carrier ${yes(l.carrier).padEnd(3)} mtu ${String(l.mtu).padEnd(6)} ${l.addresses.join(' ')}`);
  }
  out.push('', 'DEFAULT ROUTES');
  if (!s.defaultRoutes.length) out.push('  (none)');
  for (const r of s.defaultRoutes) {
    const via = r.via ? ` via ${r.via}` : '';
    const dev = r.dev ? ` dev ${r.dev}` : '';
    out.push(`  ipv${r.family} ${r.type === 'unicast' ? '' : r.type + ' '}default${via}${dev} table ${r.table} proto ${r.protocol} metric ${r.metric}${r.linkdown ? ' linkdown' : ''}`);
  }
  out.push('', `FOREIGN ROUTES (counted, not stored): ${s.foreignRoutes.total}`);
  for (const fam of ['ipv4', 'ipv6'] as const) {
    const t = Object.entries(s.foreignRoutes[fam]).map(([k, v]) => `table ${k}: ${v}`).join(', ');
    if (t) out.push(`  ${fam}: ${t}`);
  }
  out.push('', `netlink: ${s.watch.messages} messages, ${s.watch.overruns} overruns, ${s.watch.resyncs} resyncs`);
  return out.join('\n');
}

export const status: Command = {
  summary: 'show uplinks, links, addresses, default routes and foreign-route counts ([--json])',
  async run({ socket, args }) {
    const s = (await rpc(socket, 'status')) as Status;
    console.log(args.includes('--json') ? JSON.stringify(s, null, 2) : formatStatus(s));
    return 0;
  },
};
