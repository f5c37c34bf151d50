/**
 * Everything the daemon wants the machine to be, as one pure function of the config, the
 * observed kernel, the uplinks' verdicts and the clock: addresses, routes and rules (with the
 * demand proxies' routes), sysctls, the firewall's ruleset input, which connect commands
 * should run, and whose SNAT flows must be released. The reconcile loop applies the
 * difference (daemon/reconciler.ts); `uplink plan` shows it. Jobs join here next.
 */
import type { Config, UplinkConfig } from '../config/schema.js';
import { firewallEnabled, firewallInput } from '../firewall/input.js';
import type { FirewallInput } from '../firewall/render.js';
import { unselectedSnat } from '../firewall/snat.js';
import type { Family } from '../model/kernel.js';
import { desiredKernel, type DesiredKernel, type RoutedUplink } from '../routing/desired.js';
import { routedEntries } from '../routing/routed.js';
import { desiredJobs } from '../jobs/desired.js';
import type { JobWant } from '../jobs/desired.js';
import { selectionTable, uplinkTables } from '../routing/tables.js';
import { linkFacts, staticGateway6, type LinkFacts } from '../uplinks/facts.js';
import type { WorldState } from '../world/state.js';

/** What the uplink manager judged of one running uplink. */
export interface UplinkVerdict {
  /** The interface it runs on (a reload may move the uplink to another). */
  iface: string;
  facts: LinkFacts;
  /** The uplink may carry this family: its probes of that family pass. */
  familyOk: Record<Family, boolean>;
  adminDown: boolean;
  adminBlocked: boolean;
  /** A schedule window holds it: as blocked, but not by the admin. */
  scheduleHeld?: boolean;
  /** `uplink up` on a manual or demand uplink. */
  dialRequested: boolean;
  /** Traffic asks for this demand uplink. */
  demandWanted: boolean;
  /** `address: dhcp`: the leased address to put on the link, earlier ones to take off. */
  dhcp?: { address?: string; drop: string[] };
  /** Its state now, and whether it is usable (uplink.NAME.state, uplink.NAME.up). */
  state: string;
  usable: boolean;
}

export interface Verdicts {
  uplinks: ReadonlyMap<string, UplinkVerdict>;
  /** The selection, best first; the first carries traffic. */
  order: string[];
  selected?: string;
  /** Usable uplinks by rank alone (no force, no failback delay): routed prefixes pick from these. */
  ranked: readonly string[];
  /** Jobs running now (job.NAME.running). */
  jobsRunning?: ReadonlyMap<string, boolean>;
  /** Demand uplink → its proxy interface: open, and with its notrack rules applied. */
  proxies: ReadonlyMap<string, string>;
  /** Uplinks a pending apply removed: they keep their address, table and rule (probes), never the selection. */
  parked?: readonly RoutedUplink[];
}

export interface Clock {
  now: number;
}

export interface Desired {
  kernel: DesiredKernel;
  /** Devices of the selection table's IPv4 defaults: once those routes are in, their held packets may go. */
  selectionDevs: string[];
  sysctls: { key: string; value: string }[];
  /** The ruleset's input (generation 0: the firewall numbers what it applies); undefined: no table of ours. */
  firewall?: FirewallInput;
  /** Each job: whether it should run now, why, its restart_on values and a new instance's environment. */
  jobs: Map<string, JobWant>;
  /** Uplinks with a connect command: whether it should run now. */
  connect: Map<string, boolean>;
  /** Flows pinned by SNAT to these addresses must start over through `selected`. */
  snatRelease?: { selected: string; addresses: string[] };
  /**
   * Routed blocks with fallback masquerade and who carries each ("lan index:uplink", "-" on
   * the fallback): when that changes, the flows their new path cannot carry start over.
   */
  routedRelease?: { carriers: string[]; prefixes: string[] };
}

/** An uplink's connect command runs while the admin allows it and its mode (or traffic, or the admin) asks for it. */
export function wantsConnection(
  u: Pick<UplinkConfig, 'mode'>,
  v: Pick<UplinkVerdict, 'adminDown' | 'adminBlocked' | 'scheduleHeld' | 'dialRequested' | 'demandWanted'>,
): boolean {
  const auto = u.mode === 'always' || u.mode === 'backup';
  const demanded = u.mode === 'demand' && v.demandWanted;
  return !v.adminDown && !v.adminBlocked && !v.scheduleHeld && (auto || v.dialRequested || demanded);
}

/** The route planner's view of each configured uplink; one a new config would add gets its facts from the world. */
function routedUplinks(cfg: Config, world: WorldState, v: Verdicts): RoutedUplink[] {
  const tables = uplinkTables(cfg);
  return Object.entries(cfg.uplinks).map(([name, ucfg], index) => {
    const u = v.uplinks.get(name);
    const running = u?.iface === ucfg.interface ? u : undefined;
    return {
      name,
      table: tables.get(name)!,
      index,
      dev: ucfg.interface,
      staticAddress: ucfg.address === 'dhcp' ? undefined : ucfg.address,
      dhcp: running?.dhcp,
      proxyDev: v.proxies.get(name),
      facts: running?.facts ?? linkFacts(world, ucfg),
      familyOk: running?.familyOk,
    };
  });
}

function sysctls(cfg: Config, uplinks: RoutedUplink[]): Desired['sysctls'] {
  // A gateway with a LAN forwards; without one, forwarding is the admin's business.
  const out = cfg.lan.length ? [{ key: 'net/ipv4/ip_forward', value: '1' }] : [];
  // The kernel skips a carrier-less uplink's routes by itself only with this set.
  for (const u of uplinks) {
    if (!u.facts.present) continue;
    // Router advertisements give an uplink without a configured IPv6 gateway its default, also
    // with forwarding on (accept_ra=2). First in the list: forwarding switched on while
    // accept_ra is not 2 purges the RA defaults.
    const ucfg = cfg.uplinks[u.name];
    // A new lease in the same subnet goes on as a secondary address; deleting the old primary
    // would delete it too unless secondaries are promoted (the kernel's default is not to).
    if (ucfg?.address === 'dhcp') out.unshift({ key: `net/ipv4/conf/${u.dev}/promote_secondaries`, value: '1' });
    if (ucfg && !staticGateway6(ucfg))
      out.unshift(
        { key: `net/ipv6/conf/${u.dev}/accept_ra`, value: '2' },
        { key: `net/ipv6/conf/${u.dev}/accept_ra_defrtr`, value: '1' },
      );
    for (const fam of ['ipv4', 'ipv6'])
      out.push({ key: `net/${fam}/conf/${u.dev}/ignore_routes_with_linkdown`, value: '1' });
  }
  return out;
}

export function desired(cfg: Config, world: WorldState, v: Verdicts, _clock: Clock): Desired {
  const k = cfg.control.kernel;
  const uplinks = routedUplinks(cfg, world, v);
  const order = v.order.filter((n) => Object.hasOwn(cfg.uplinks, n));
  const routed = routedEntries(cfg, v);
  const kernel = desiredKernel([...uplinks, ...(v.parked ?? [])], order, selectionTable(k), k, routed);
  const masq = routed.filter((e) => e.fallback === 'masquerade');
  const selectionDevs = kernel.routes
    .filter((r) => r.table === selectionTable(k) && r.family === 4 && r.gateway)
    .map((r) => r.dev!);
  const connect = new Map<string, boolean>();
  for (const [name, u] of Object.entries(cfg.uplinks)) {
    const verdict = v.uplinks.get(name);
    if (u.connect && verdict) connect.set(name, wantsConnection(u, verdict));
  }
  const on = firewallEnabled(cfg);
  const wanAddrs4 = [...new Set(uplinks.flatMap((u) => (u.facts.v4 ? [u.facts.v4.address] : [])))].sort();
  const addresses = on && v.selected ? unselectedSnat(cfg, v.selected) : [];
  return {
    kernel,
    selectionDevs,
    sysctls: sysctls(cfg, uplinks),
    connect,
    jobs: desiredJobs(cfg, world, v),
    ...(on ? { firewall: firewallInput(cfg, 0, wanAddrs4) } : {}),
    ...(addresses.length ? { snatRelease: { selected: v.selected!, addresses } } : {}),
    ...(on && masq.length
      ? {
          routedRelease: {
            carriers: masq.map((e) => `${e.lan}:${e.carriers[0] ?? '-'}`),
            prefixes: masq.flatMap((e) => e.prefixes),
          },
        }
      : {}),
  };
}
