/**
 * Kernel changes the daemon asks for, and their `ip` equivalents. The fake
 * System and --dry-run print exactly these commands; the Linux System runs them
 * through `ip -4 -batch` / `ip -6 -batch` (batch lines take no family flag).
 */
import { UplinkError } from '../errors.js';
import type { Family, KernelEvent, RouteInfo, RuleInfo } from './kernel.js';

export interface RouteSpec {
  family: Family;
  table: number;
  protocol: number;
  type: 'unicast' | 'unreachable' | 'blackhole' | 'prohibit';
  dst: string;
  dstLen: number;
  gateway?: string;
  dev?: string;
  metric: number;
}

export interface RuleSpec {
  family: Family;
  priority: number;
  table: number;
  protocol: number;
  src?: string;
  srcLen?: number;
  suppressPrefixlen?: number;
  fwmark?: number;
  fwmask?: number;
}

export interface AddrSpec {
  family: Family;
  address: string;
  prefixlen: number;
  dev: string;
}

/** `replace` is only ever planned for a route that is ours (docs/platform-notes.md: replace deletes foreign routes). */
export type KernelOp =
  | { op: 'add' | 'del' | 'replace'; route: RouteSpec }
  | { op: 'add' | 'del'; rule: RuleSpec }
  /**
   * Static uplink addresses are only ever added (an address may be the admin's too); only
   * addresses uplinkd itself leased by DHCP (recorded in the state file) are deleted.
   */
  | { op: 'add' | 'del'; addr: AddrSpec };

export function opFamily(o: KernelOp): Family {
  return 'route' in o ? o.route.family : 'rule' in o ? o.rule.family : o.addr.family;
}

function routeLine(op: string, r: RouteSpec): string {
  const dst = `${r.dst}/${r.dstLen}`;
  const parts = ['route', op, r.type === 'unicast' ? dst : `${r.type} ${dst}`];
  if (r.gateway) parts.push('via', r.gateway);
  if (r.dev) parts.push('dev', r.dev);
  parts.push('table', String(r.table), 'proto', String(r.protocol), 'metric', String(r.metric));
  return parts.join(' ');
}

function ruleLine(op: string, r: RuleSpec): string {
  const parts = ['rule', op, 'priority', String(r.priority)];
  if (r.src) parts.push('from', `${r.src}/${r.srcLen ?? (r.family === 4 ? 32 : 128)}`);
  if (r.fwmark !== undefined)
    parts.push('fwmark', `0x${r.fwmark.toString(16)}/0x${(r.fwmask ?? 0xffffffff).toString(16)}`);
  parts.push('lookup', String(r.table));
  if (r.suppressPrefixlen !== undefined) parts.push('suppress_prefixlength', String(r.suppressPrefixlen));
  parts.push('protocol', String(r.protocol));
  return parts.join(' ');
}

/** One `ip -batch` line. */
export function batchLine(o: KernelOp): string {
  if ('addr' in o) return `address ${o.op} ${o.addr.address}/${o.addr.prefixlen} dev ${o.addr.dev}`;
  return 'route' in o ? routeLine(o.op, o.route) : ruleLine(o.op, o.rule);
}

/** The command a person would type: `ip -4 route add …`. */
export function displayCommand(o: KernelOp): string {
  return `ip -${opFamily(o)} ${batchLine(o)}`;
}

/** The route the kernel reports for a spec (what the fake kernel and --dry-run's overlay echo back). */
export function specToRoute(s: RouteSpec, oif?: number): RouteInfo {
  return {
    family: s.family,
    table: s.table,
    protocol: s.protocol,
    type: s.type,
    dst: s.dst,
    dstLen: s.dstLen,
    gateway: s.gateway,
    oif,
    metric: s.metric,
    linkdown: false,
  };
}

export function specToRule(s: RuleSpec): RuleInfo {
  return {
    family: s.family,
    priority: s.priority,
    action: 'lookup',
    table: s.table,
    protocol: s.protocol,
    src: s.src,
    srcLen: s.src ? (s.srcLen ?? (s.family === 4 ? 32 : 128)) : 0,
    suppressPrefixlen: s.suppressPrefixlen ?? -1,
    ...(s.fwmark !== undefined ? { fwmark: s.fwmark, fwmask: s.fwmask ?? 0xffffffff } : {}),
  };
}

/**
 * The event the kernel announces once `o` is applied (what the fake kernel and --dry-run's
 * overlay echo back); `indexOf` gives a device's ifindex.
 */
export function opEvent(o: KernelOp, indexOf: (dev: string | undefined) => number | undefined): KernelEvent {
  const op = o.op === 'del' ? 'del' : 'new';
  if ('addr' in o) {
    const { family, address, prefixlen, dev } = o.addr;
    return { kind: 'addr', op, addr: { family, index: indexOf(dev) ?? 0, address, prefixlen, scope: 0 } };
  }
  if ('rule' in o) return { kind: 'rule', op, rule: specToRule(o.rule) };
  const route = specToRoute(o.route, indexOf(o.route.dev));
  return o.op === 'replace' ? { kind: 'route', op, route, replaced: true } : { kind: 'route', op, route };
}

/** An op the kernel refused, and what it said. */
export interface RefusedOp {
  op: KernelOp;
  error: string;
}

/** System.apply's rejection when some ops were refused: `refused` says which (the others were applied). */
export class KernelRefused extends UplinkError {
  constructor(readonly refused: RefusedOp[]) {
    super(
      'SYSTEM',
      `kernel refused: ${refused.map((r) => `${displayCommand(r.op)}: ${r.error}`).join('; ')}`,
      'the next reconcile retries what is still missing',
    );
  }
}
