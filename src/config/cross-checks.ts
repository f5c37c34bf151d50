/**
 * Checks across sections: shared interfaces, references to uplinks and zones, probe
 * targets against the effective method, and range capacity. They run even when other
 * parts of the config failed, so read every value defensively.
 */
import type { z } from 'zod';
import { closest, hinted, splitHint } from './errors.js';
import { checkProbeTarget, PROBE_METHODS, type ProbeMethod } from './probe.js';
import { defaultProxyAddress, defaultProxyName } from './demand-defaults.js';
import { forwardOverlaps, type ForwardSpan } from './forward-overlaps.js';
import { checkRouted, routedEntryCount } from './routed-checks.js';
import { checkJobs } from './job-checks.js';

type Path = (string | number)[];
type Ctx = z.core.$RefinementCtx<unknown>;
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const entries = (v: unknown): [string, Obj][] =>
  isObj(v) ? Object.entries(v).filter((e): e is [string, Obj] => isObj(e[1])) : [];
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.map((x) => (isObj(x) ? x : {})) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function knownHint(name: string, known: string[], what: string): string {
  const near = closest(name, known);
  const all = known.length ? `configured ${what}s: ${known.join(', ')}` : `no ${what}s are configured`;
  return near !== undefined ? `did you mean "${near}"? ${all}` : all;
}

export function crossCheck(cfg: unknown, ctx: Ctx): void {
  if (!isObj(cfg)) return;
  const seen = new Set<string>();
  const add = (path: Path, input: unknown, message: string, hint?: string) => {
    const key = `${path.join('.')}\u0000${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    ctx.addIssue({ code: 'custom', path, input, message: hinted(message, hint) });
  };

  const uplinks = entries(cfg.uplinks);
  const names = uplinks.map(([n]) => n);

  // Interfaces: one uplink per interface; LAN interfaces are not uplinks.
  const owner = new Map<string, string>();
  for (const [name, u] of uplinks) {
    const ifc = str(u.interface);
    if (ifc === undefined) continue;
    const first = owner.get(ifc);
    if (first !== undefined) {
      add(
        ['uplinks', name, 'interface'],
        ifc,
        `interface "${ifc}" is already used by uplink "${first}"`,
        'each uplink needs its own interface',
      );
    } else owner.set(ifc, name);
  }
  const zones = new Set<string>();
  const lanIfs = new Map<string, number>();
  list(cfg.lan).forEach((l, i) => {
    const ifc = str(l.interface);
    const zone = str(l.zone);
    if (zone !== undefined) zones.add(zone);
    if (ifc === undefined) return;
    if (owner.has(ifc)) {
      add(
        ['lan', i, 'interface'],
        ifc,
        `interface "${ifc}" is already the interface of uplink "${owner.get(ifc)}"`,
        'an interface is either an uplink or on the LAN, not both',
      );
    } else if (lanIfs.has(ifc)) {
      add(
        ['lan', i, 'interface'],
        ifc,
        `interface "${ifc}" is already listed as lan[${lanIfs.get(ifc)}]`,
        'list each LAN interface once',
      );
    } else lanIfs.set(ifc, i);
  });

  // References to uplinks and zones.
  const ref = (path: Path, v: unknown) => {
    if (typeof v === 'string' && !names.includes(v))
      add(path, v, `unknown uplink "${v}"`, knownHint(v, names, 'uplink'));
  };
  list(cfg.forwards).forEach((f, i) => {
    const u = f.uplink;
    if (Array.isArray(u)) u.forEach((v, j) => ref(['forwards', i, 'uplink', j], v));
    else ref(['forwards', i, 'uplink'], u);
    const zone = str(f.zone);
    if (zone !== undefined && !zones.has(zone)) {
      add(['forwards', i, 'zone'], zone, `unknown zone "${zone}"`, knownHint(zone, [...zones], 'lan zone'));
    }
  });
  checkForwardOverlaps(list(cfg.forwards), add);
  checkRouted(list(cfg.lan), uplinks, add);
  checkJobs(entries(cfg.jobs), names, add);
  list(cfg.schedule).forEach((s, i) => {
    ref(['schedule', i, 'uplink'], s.uplink);
    const u = isObj(s) ? uplinks.find(([n]) => n === s.uplink)?.[1] : undefined;
    if (isObj(s) && (s.action === 'demand_on' || s.action === 'demand_off') && u && u.mode !== 'demand')
      add(
        ['schedule', i, 'action'],
        s.action,
        `${s.action} needs a demand uplink; ${String(s.uplink)} is mode ${String(u.mode ?? 'always')}`,
        'use up/down (or block/unblock) for other uplinks',
      );
  });
  list(cfg.announce).forEach((a, i) => ref(['announce', i, 'uplink'], a.uplink));

  checkProbes(cfg, uplinks, add);
  checkProxies(uplinks, new Set([...owner.keys(), ...lanIfs.keys()]), add);
  checkDemandKeys(cfg, uplinks, add);

  // snat lives in our nftables table: it needs the firewall.
  const fw = cfg.firewall;
  if (isObj(fw) && fw.enabled === false) {
    for (const [name, u] of uplinks) {
      if (u.snat !== undefined)
        add(
          ['uplinks', name, 'snat'],
          u.snat,
          'snat needs the firewall, but firewall.enabled is false',
          'remove snat (masquerade is then not applied either), or enable the firewall',
        );
      if (u.mode === 'demand')
        add(
          ['uplinks', name, 'mode'],
          'demand',
          'mode demand needs the firewall (replayed packets need NAT and notrack rules), but firewall.enabled is false',
          'enable the firewall, or use mode manual',
        );
    }
    list(cfg.lan).forEach((l, i) => {
      if (l.routed !== undefined)
        add(
          ['lan', i, 'routed'],
          l.routed,
          'routed prefixes need the firewall (their NAT exemption and fallback are rules), but firewall.enabled is false',
          'enable the firewall, or remove routed',
        );
    });
    if (Array.isArray(fw.forward) && fw.forward.length)
      add(
        ['firewall', 'forward'],
        fw.forward,
        'firewall.forward needs the firewall, but firewall.enabled is false',
        'enable the firewall, or remove firewall.forward',
      );
  }

  // Capacity of our table range: the selection table, one per uplink, one per routed LAN entry.
  const control = cfg.control;
  const kernel = isObj(control) ? control.kernel : undefined;
  const count = isObj(kernel) ? kernel.table_count : undefined;
  const routed = routedEntryCount(list(cfg.lan));
  if (typeof count === 'number' && uplinks.length + routed > count - 1) {
    const need = `${uplinks.length} uplink${uplinks.length === 1 ? '' : 's'}${routed ? ` and ${routed} routed lan entr${routed === 1 ? 'y' : 'ies'}` : ''}`;
    add(
      ['control', 'kernel', 'table_count'],
      count,
      `table_count ${count} leaves room for ${count - 1} table${count === 2 ? '' : 's'} beside the selection table, but ${need} need one each`,
      `raise table_count to at least ${uplinks.length + routed + 1}`,
    );
  }
  // Our rules' layout (docs/uplinks.md): the replies' rules (base+50+n) come before the routed
  // prefixes' (base+count-11) and the selection (base+count-10), all inside our range.
  const rcount = isObj(kernel) ? kernel.rule_priority_count : undefined;
  const rneed = (routed ? 61 : 60) + uplinks.length;
  if (typeof rcount === 'number' && rcount < rneed)
    add(
      ['control', 'kernel', 'rule_priority_count'],
      rcount,
      `rule_priority_count ${rcount} is too small for ${uplinks.length} uplink${uplinks.length === 1 ? '' : 's'}: each needs a reply rule at base+50+n, before the ${routed ? 'routed and ' : ''}selection rules at the top of the range`,
      `raise rule_priority_count to at least ${rneed}`,
    );
  const tbase = isObj(kernel) ? kernel.table_base : undefined;
  const tables = new Map<number, string>();
  for (const [name, u] of uplinks) {
    const t = u.table;
    if (typeof t !== 'number') continue;
    if (typeof tbase === 'number' && typeof count === 'number' && (t <= tbase || t > tbase + count - 1)) {
      add(
        ['uplinks', name, 'table'],
        t,
        `table ${t} is outside our uplink tables ${tbase + 1}..${tbase + count - 1}`,
        `pick a table in that range, or change control.kernel.table_base/table_count`,
      );
    } else if (tables.has(t)) {
      add(
        ['uplinks', name, 'table'],
        t,
        `table ${t} is already used by uplink "${tables.get(t)}"`,
        'each uplink needs its own table',
      );
    }
    if (!tables.has(t)) tables.set(t, name);
  }
}

type Add = (path: Path, input: unknown, message: string, hint?: string) => void;

/** Keys that only mean something on a demand uplink, and what a demand uplink cannot have. */
function checkDemandKeys(cfg: Obj, uplinks: [string, Obj][], add: Add): void {
  const defaults = isObj(cfg.defaults) && isObj(cfg.defaults.probe) ? cfg.defaults.probe : {};
  const snat = new Map<string, string>();
  for (const [name, u] of uplinks) {
    const s = str(u.snat);
    if (s && snat.has(s))
      add(
        ['uplinks', name, 'snat'],
        s,
        `snat address ${s} is already the snat address of uplink "${snat.get(s)}"`,
        'each uplink needs its own snat address (its flows are released when traffic leaves it)',
      );
    else if (s) snat.set(s, name);
    if (u.mode !== 'demand') {
      for (const k of ['idle', 'min_up', 'max_up', 'proxy_interface', 'proxy_address']) {
        if (u[k] !== undefined)
          add(['uplinks', name, k], u[k], `${k} only applies to mode demand`, 'remove it, or set mode: demand');
      }
      continue;
    }
    const probe = isObj(u.probe) ? u.probe : {};
    const method = str(probe.method) ?? str(defaults.method);
    if (method === 'tcp' || method === 'http') {
      add(
        ['uplinks', name, 'probe', 'method'],
        method,
        `${method} probes cannot carry our fwmark, so they would keep a demand link up forever`,
        'use icmp or dns probes on a demand uplink',
      );
    }
  }
}

/** Demand proxies: each needs its own interface name (not an uplink's or a LAN's) and address. */
function checkProxies(uplinks: [string, Obj][], taken: Set<string>, add: Add): void {
  const names = new Map<string, string>();
  const addrs = new Map<string, string>();
  let n = 0;
  for (const [name, u] of uplinks) {
    if (u.mode !== 'demand') continue;
    n++;
    const explicit = str(u.proxy_interface);
    const ifc = explicit ?? defaultProxyName(name);
    const path = ['uplinks', name, explicit ? 'proxy_interface' : 'mode'];
    if (taken.has(ifc))
      add(
        path,
        ifc,
        `proxy interface "${ifc}" is already an uplink or LAN interface`,
        'set proxy_interface to a free name',
      );
    else if (names.has(ifc))
      add(
        path,
        ifc,
        `proxy interface "${ifc}" is already the proxy of uplink "${names.get(ifc)}"`,
        'set proxy_interface: long uplink names are cut to 15 characters',
      );
    else names.set(ifc, name);
    const addr = str(u.proxy_address) ?? defaultProxyAddress(n);
    if (addrs.has(addr))
      add(
        ['uplinks', name, 'proxy_address'],
        addr,
        `proxy address ${addr} is already used by uplink "${addrs.get(addr)}"`,
        'give each demand uplink its own proxy_address',
      );
    else addrs.set(addr, name);
  }
}

function checkProbes(cfg: Obj, uplinks: [string, Obj][], add: Add): void {
  const defaults = cfg.defaults;
  const dp = isObj(defaults) && isObj(defaults.probe) ? defaults.probe : undefined;
  const method = (v: unknown): ProbeMethod | undefined =>
    (PROBE_METHODS as readonly unknown[]).includes(v) ? (v as ProbeMethod) : undefined;

  const checkBlock = (m: ProbeMethod, targets: unknown, tPath: Path, reliability: unknown, rPath: Path) => {
    const ts = Array.isArray(targets) ? targets : undefined;
    ts?.forEach((t, i) => {
      if (typeof t !== 'string') return;
      const bad = checkProbeTarget(m, t);
      if (bad !== undefined) {
        const { message, hint } = splitHint(bad);
        add([...tPath, i], t, message, hint);
      }
    });
    const n = ts?.length ?? 1;
    if (typeof reliability === 'number' && reliability > n) {
      add(
        rPath,
        reliability,
        `reliability ${reliability} is more than the ${n} target${n === 1 ? '' : 's'}`,
        `reliability counts the targets that must answer; at most ${n} here`,
      );
    }
  };

  if (dp !== undefined) {
    checkBlock(method(dp.method) ?? 'icmp', dp.targets, ['defaults', 'probe', 'targets'], dp.reliability, [
      'defaults',
      'probe',
      'reliability',
    ]);
  }
  for (const [name, u] of uplinks) {
    const up = isObj(u.probe) ? u.probe : undefined;
    const base: Path = ['uplinks', name, 'probe'];
    const own = <K extends string>(k: K): boolean => up !== undefined && up[k] !== undefined;
    const m = method(up?.method) ?? method(dp?.method) ?? 'icmp';
    const tFrom: Path = own('targets') ? [...base, 'targets'] : ['defaults', 'probe', 'targets'];
    const targets = own('targets') ? up!.targets : dp?.targets;
    const rPath: Path = own('reliability') ? [...base, 'reliability'] : ['defaults', 'probe', 'reliability'];
    const reliability = own('reliability') ? up!.reliability : dp?.reliability;
    checkBlock(m, targets, tFrom, reliability, rPath);
    if (targets === undefined && (m === 'tcp' || m === 'http')) {
      const at: Path = own('method') ? [...base, 'method'] : ['defaults', 'probe', 'method'];
      add(
        at,
        m,
        `${m} probes of uplink "${name}" need targets`,
        m === 'tcp'
          ? 'add targets: [IP:PORT], e.g. ["198.51.100.1:443"]'
          : 'add targets: [URL], e.g. ["http://198.51.100.1/"]',
      );
    }
  }
}

/** Two forwards of one protocol whose ports overlap on a shared uplink would fight over the same packets. */
function checkForwardOverlaps(forwards: Obj[], add: Add): void {
  const spans: ForwardSpan[] = [];
  forwards.forEach((f, index) => {
    const p = f.port;
    const m =
      typeof p === 'number'
        ? [p, p]
        : typeof p === 'string'
          ? /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/
              .exec(p)
              ?.slice(1)
              .map((x, _k, a) => Number(x ?? a[0]))
          : undefined;
    const u = f.uplink;
    const uplinks = u === undefined ? undefined : Array.isArray(u) ? u.map(String) : [String(u)];
    if (m && typeof f.proto === 'string') spans.push({ index, proto: f.proto, first: m[0]!, last: m[1]!, uplinks });
  });
  const found = forwardOverlaps(spans);
  for (const b of spans) {
    const i = found.get(b.index);
    if (i === undefined) continue;
    add(
      ['forwards', b.index, 'port'],
      forwards[b.index]!.port,
      `port ${b.first === b.last ? b.first : `${b.first}-${b.last}`}/${b.proto} overlaps forwards[${i}]`,
      'each port of an uplink can go to one place: remove one, change the port, or give them different uplink: lists',
    );
  }
}
