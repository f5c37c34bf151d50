/** `uplink status [--json]`. */
import { rpc } from '../control/client.js';
import type { Status } from '../control/status.js';
import type { Command } from './args.js';

const yes = (b: boolean) => (b ? 'yes' : 'no');

/** ", gateway 198.51.100.1 fe80::1" — each family's, when known. */
function gatewayText(g: { ipv4?: string; ipv6?: string } | undefined): string {
  const known = [g?.ipv4, g?.ipv6].filter(Boolean);
  return known.length ? `, gateway ${known.join(' ')}` : '';
}

/** "dhcp: 198.51.100.2/24 from 198.51.100.1, 40 s old, renews …, expires …" or why there is none. */
function dhcpText(d: NonNullable<Status['uplinks'][number]['dhcp']>): string {
  const pid = d.pid ? ` (udhcpc pid ${d.pid})` : ' (no client running)';
  const silent = d.serverSilentSince ? `; no server answers since ${d.serverSilentSince}` : '';
  const overdue = d.renewOverdue ? ', renewal overdue (server not answering?)' : '';
  if (!d.address) return `dhcp: no lease${d.lost ? ` (${d.lost})` : ''}${silent}${pid}`;
  return `dhcp: ${d.address} from ${d.server ?? '?'}, ${d.ageS} s old, renews ${d.renewAt}, expires ${d.expiresAt}${overdue}${silent}${pid}`;
}

const ms = (n: number | undefined) => (n === undefined ? '-' : `${n}ms`);

function formatUplink(u: Status['uplinks'][number]): string[] {
  const mark = u.selected ? '*' : ' ';
  const link = u.link.present ? `carrier ${yes(u.link.carrier)}` : 'interface absent';
  const lines = [
    `${mark} ${u.name.padEnd(12)} ${String(u.state ?? '?').padEnd(10)} since ${u.since ?? '-'}  ${u.reason ?? ''}`,
    `    ${u.interface} ${u.mode} prio ${u.priority} table ${u.table}, ${link}, ${u.addresses.join(' ') || 'no address'}${gatewayText(u.gateways)}`,
  ];
  if (u.probe) {
    const p = u.probe;
    lines.push(
      `    probes: ${p.rounds} rounds, rtt last ${ms(p.rttMs.last)} avg ${ms(p.rttMs.avg)} jitter ${ms(p.rttMs.jitter)}, loss ${p.lossPct ?? 0}%`,
    );
  }
  const av = u.availability;
  if (av?.upPct !== undefined) {
    lines.push(
      `    up ${av.upPct}% since the daemon started (${Math.round(av.upS)} s up, ${Math.round(av.downS)} s not)`,
    );
  }
  const dm = u.demand;
  if (dm) {
    const q = dm.queue;
    lines.push(
      `    demand ${dm.enabled ? 'on' : 'off'} via ${dm.proxy}; last dial for: ${dm.lastTrigger ? `${dm.lastTrigger.packet} (rule "${dm.lastTrigger.rule}") at ${dm.lastTrigger.at}` : 'none yet'}`,
    );
    lines.push(
      `    kept up by: ${dm.keptUpBy.length ? dm.keptUpBy.map((k) => `${k.flow} (${Math.round((k.expiresInMs ?? 0) / 1000)}s)`).join(', ') : 'nothing'}`,
    );
    lines.push(
      `    queue: ${q.packets} held (${q.bytes} B), ${q.replayed} replayed, ${q.droppedFull} dropped (full), ${q.droppedAge} dropped (age), ${q.ignored} ignored`,
    );
  }
  if (u.dhcp) lines.push(`    ${dhcpText(u.dhcp)}`);
  if (u.dial)
    lines.push(
      `    dials: ${u.dial.attempts} (failed in a row: ${u.dial.failures})${u.dial.pid ? `, pid ${u.dial.pid}` : ''}${u.dial.nextDialAt ? `, next ${u.dial.nextDialAt}` : ''}${u.dial.gaveUp ? `, ${u.dial.gaveUp}` : ''}`,
    );
  return lines;
}

/** Each cron entry's next moment and each window's hold, in the schedule's time zone. */
function scheduleLines(sc: Status['schedule'] | undefined): string[] {
  if (!sc?.entries.length) return [];
  const out = ['', `SCHEDULE (${sc.timeZone})`];
  for (const e of sc.entries) {
    if (e.cron !== undefined)
      out.push(`  cron "${e.cron}" ${e.action}${e.uplink ? ` ${e.uplink}` : ''}: next ${e.next ?? 'never'}`);
    else
      out.push(
        `  ${e.deny !== undefined ? `deny ${e.deny}` : `allow ${e.allow}`}${e.days ? ` (${e.days.join(',')})` : ''} ${e.uplink}: ${sc.held[e.uplink ?? ''] ? `HOLDING (${sc.held[e.uplink ?? '']})` : 'not holding'}`,
      );
  }
  return out;
}

/** Each updater: what it announced, its last answer, and a disable in capitals. */
function announceLines(a: Status['announce'] | undefined): string[] {
  if (!a?.length) return [];
  return [
    '',
    'ANNOUNCE',
    ...a.map(
      (u) =>
        `  ${u.uplink} ${u.updater}: ${u.announced ? `announced ${u.announced}` : 'nothing announced yet'}${u.last ? `; last ${u.last.result} at ${u.last.at} (${u.last.message})` : ''}${u.disabled ? ` — DISABLED (${u.disabled.result}) until the config changes` : u.nextRetry ? `, retry at ${u.nextRetry}` : ''}`,
    ),
  ];
}

export function formatStatus(s: Status): string {
  const out: string[] = [];
  if (s.apply)
    out.push(
      `PENDING APPLY of ${s.apply.file}: rolls back in ${Math.ceil(s.apply.secondsLeft)} s (at ${s.apply.deadline}) unless \`uplink confirm\` (\`uplink rollback\` reverts now)`,
      ...(s.apply.parked?.length
        ? [
            `  removed by it, still probed until confirm: ${s.apply.parked.map((p) => `${p.name} (${p.state})`).join(', ')}`,
          ]
        : []),
      '',
    );
  // A pending apply says so above; an edit not reloaded needs its own line.
  if (s.daemon.configDiffers && !s.apply) out.push(`CONFIG DIFFERS: ${s.daemon.configDiffers}`, '');
  out.push(
    `uplinkd ${s.daemon.version} pid ${s.daemon.pid} since ${s.daemon.startedAt} (${s.daemon.system}), config ${s.daemon.config}`,
  );
  const el = s.daemon.eventLoop;
  out.push(
    `event loop: delay p99 ${el.p99Ms} ms, max ${el.maxMs} ms over the last ${el.windowS} s (worst since start ${el.maxSinceStartMs} ms)`,
  );
  for (const w of s.warnings) out.push(`WARNING ${w.path}: ${w.message}${w.hint ? ` — ${w.hint}` : ''}`);
  const r = s.reconcile;
  if (r.last)
    out.push(
      `reconcile: ${r.runs} runs; the last applied ${r.last.ops} op(s) in ${r.last.durationMs} ms (${r.last.reasons.join(', ') || 'no reason recorded'})`,
    );
  for (const f of r.failing)
    out.push(`  FAILING ${f.op}: ${f.error} (${f.count}x since ${f.since}; next try ${f.nextAt})`);
  const sel = s.selection;
  out.push('', `UPLINKS  selected: ${sel.selected ?? 'none'}${sel.forced ? ` (forced)` : ''} — ${sel.reason}`);
  if (!s.uplinks.length) out.push('  (none configured)');
  for (const u of s.uplinks) out.push(...formatUplink(u));
  const hooks = s.hooks;
  if (hooks && (hooks.ran || hooks.refused.length))
    out.push('', `HOOKS ${hooks.dir}: ${hooks.ran} run(s), ${hooks.dropped} stale event(s) dropped`);
  for (const r of hooks?.refused ?? []) out.push(`  REFUSED ${r.path}: ${r.problem}`);
  const jobs = s.jobs ?? [];
  if (jobs.length) out.push('', 'JOBS');
  for (const j of jobs)
    out.push(
      `  ${j.name.padEnd(12)} ${j.state.padEnd(9)}${j.pid !== undefined ? ` pid ${j.pid} (${j.cgroup ? 'cgroup' : 'process group'})` : ''} since ${j.since}, ${j.restarts} restart(s)${j.lastExit ? `, last ${j.lastExit}` : ''} — ${j.why}`,
    );
  out.push(...scheduleLines(s.schedule), ...announceLines(s.announce));
  // A daemon older than the CLI has no routed list.
  const routed = s.routed ?? [];
  if (routed.length) out.push('', 'ROUTED PREFIXES');
  for (const r of routed) {
    const now = r.carrier
      ? `carried by ${r.carrier}`
      : r.onFallback
        ? `ON FALLBACK ${r.fallback} (no via uplink usable)`
        : 'not judged yet';
    out.push(
      `  ${r.prefixes.join(' ')} on ${r.interface} (zone ${r.zone}), via ${r.via.join(', ')}, table ${r.table}: ${now}`,
    );
  }
  out.push('', 'LINKS');
  for (const l of s.links) {
    out.push(
      `  ${String(l.index).padStart(3)} ${l.name.padEnd(15)} ${(l.up ? 'UP' : 'DOWN').padEnd(5)} carrier ${yes(l.carrier).padEnd(3)} mtu ${String(l.mtu).padEnd(6)} ${l.addresses.join(' ')}`,
    );
  }
  out.push('', 'DEFAULT ROUTES');
  if (!s.defaultRoutes.length) out.push('  (none)');
  for (const r of s.defaultRoutes) {
    const via = r.via ? ` via ${r.via}` : '';
    const dev = r.dev ? ` dev ${r.dev}` : '';
    out.push(
      `  ipv${r.family} ${r.type === 'unicast' ? '' : `${r.type} `}default${via}${dev} table ${r.table} proto ${r.protocol} metric ${r.metric}${r.linkdown ? ' linkdown' : ''}`,
    );
  }
  out.push('', `FOREIGN ROUTES (counted, not stored): ${s.foreignRoutes.total}`);
  for (const fam of ['ipv4', 'ipv6'] as const) {
    const t = Object.entries(s.foreignRoutes[fam])
      .map(([k, v]) => `table ${k}: ${v}`)
      .join(', ');
    if (t) out.push(`  ${fam}: ${t}`);
  }
  const fw = s.firewall;
  out.push(
    '',
    fw.enabled
      ? `FIREWALL table inet uplinkd, generation ${fw.generation}${fw.lastApply ? `, last apply ${fw.lastApply.ok ? 'ok' : `FAILED: ${fw.lastApply.error}`} at ${fw.lastApply.at}` : ''}${fw.restored ? `, restored ${fw.restored}x after tampering` : ''}`
      : 'FIREWALL off (no lan, forwards or firewall.input configured)',
  );
  out.push('', `netlink: ${s.watch.messages} messages, ${s.watch.overruns} overruns, ${s.watch.resyncs} resyncs`);
  return out.join('\n');
}

export const status: Command = {
  summary: 'show uplinks, links, addresses, default routes and foreign-route counts',
  async run({ socket, json }) {
    const s = (await rpc(socket, 'status')) as Status;
    console.log(json ? JSON.stringify(s, null, 2) : formatStatus(s));
    return 0;
  },
};
