/**
 * Plain data the kernel watch reports. These cross the worker-thread boundary
 * (structured clone), so they stay plain objects without methods.
 */
export type Family = 4 | 6;

export interface LinkInfo {
  index: number;
  name: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier (IFF_LOWER_UP): the one flag that says the wire is alive. */
  carrier: boolean;
  operstate: string;
  mtu: number;
  mac?: string;
  kind?: string;
}

export interface AddrInfo {
  family: Family;
  index: number;
  address: string;
  prefixlen: number;
  /** Peer address on point-to-point links (IFA_ADDRESS differs from IFA_LOCAL). */
  peer?: string;
  scope: number;
  label?: string;
}

export interface RouteInfo {
  family: Family;
  table: number;
  protocol: number;
  type: string;
  dst: string;
  dstLen: number;
  gateway?: string;
  oif?: number;
  metric: number;
  prefsrc?: string;
  linkdown: boolean;
}

export interface RuleInfo {
  family: Family;
  priority: number;
  action: string;
  table: number;
  protocol: number;
  src?: string;
  srcLen: number;
  fwmark?: number;
  fwmask?: number;
  /** -1 when not set. */
  suppressPrefixlen: number;
}

/** Which routes we store; everything else is only counted (a full BGP table must cost no memory). */
export interface RouteFilter {
  protocol: number;
  tableBase: number;
  tableCount: number;
  /** Rules in [rulePriorityBase, rulePriorityBase + rulePriorityCount) or with our protocol are stored. */
  rulePriorityBase: number;
  rulePriorityCount: number;
}

/** Per family, per table: how many routes the kernel holds that we do not store. */
export interface ForeignCounts {
  ipv4: Record<string, number>;
  ipv6: Record<string, number>;
}

export interface KernelSnapshot {
  links: LinkInfo[];
  addrs: AddrInfo[];
  routes: RouteInfo[];
  rules: RuleInfo[];
  foreign: ForeignCounts;
}

export type KernelEvent =
  | { kind: 'link'; op: 'new' | 'del'; link: LinkInfo }
  | { kind: 'addr'; op: 'new' | 'del'; addr: AddrInfo }
  /** `replaced`: the kernel's answer to a replace (NLM_F_REPLACE): the route it replaced is gone, unannounced. */
  | { kind: 'route'; op: 'new' | 'del'; route: RouteInfo; replaced?: boolean }
  | { kind: 'rule'; op: 'new' | 'del'; rule: RuleInfo };

export interface WatchStats {
  /** Netlink messages read from the event socket (stored or only counted). */
  messages: number;
  overruns: number;
  resyncs: number;
}

/**
 * What the kernel replaces by (`ip route replace`): family, table, type, destination, metric.
 * The planner pairs its ops by it, so switching a route's gateway is one `replace`.
 */
export function replaceKey(r: Pick<RouteInfo, 'family' | 'table' | 'dst' | 'dstLen' | 'metric' | 'type'>): string {
  return `${r.family}|${r.table}|${r.type}|${r.dst}/${r.dstLen}|${r.metric}`;
}

/**
 * A route's full identity: the replace key plus device and gateway. The kernel holds siblings
 * that differ only in those (two IPv6 router-advertised defaults, one per interface, or
 * defaults in main with the same metric), and the world model must keep every one.
 */
export function routeKey(
  r: Pick<RouteInfo, 'family' | 'table' | 'dst' | 'dstLen' | 'metric' | 'type' | 'oif' | 'gateway'>,
): string {
  return `${replaceKey(r)}|${r.oif ?? '-'}|${r.gateway ?? '-'}`;
}

/**
 * Stores a route as the kernel announced it. A replace is announced as a new route only: the
 * route it replaced (same replace key, same owner) vanishes without a word, so drop it here.
 */
export function putRoute(
  routes: Map<string, RouteInfo>,
  e: { op: 'new' | 'del'; route: RouteInfo; replaced?: boolean },
): void {
  const key = routeKey(e.route);
  if (e.op === 'del') {
    routes.delete(key);
    return;
  }
  if (e.replaced) {
    const rk = replaceKey(e.route);
    for (const [k, r] of routes)
      if (k !== key && r.protocol === e.route.protocol && replaceKey(r) === rk) routes.delete(k);
  }
  routes.set(key, e.route);
}

export function addrKey(a: Pick<AddrInfo, 'index' | 'address' | 'prefixlen'>): string {
  return `${a.index}|${a.address}/${a.prefixlen}`;
}

export function isStoredRoute(r: Pick<RouteInfo, 'table' | 'protocol' | 'dstLen'>, f: RouteFilter): boolean {
  if (r.protocol === f.protocol) return true;
  if (r.table >= f.tableBase && r.table < f.tableBase + f.tableCount) return true;
  return r.table === 254 && r.dstLen === 0;
}

export function ruleKey(
  r: Pick<RuleInfo, 'family' | 'priority' | 'src' | 'srcLen' | 'table' | 'action' | 'fwmark' | 'fwmask'>,
): string {
  const mark = r.fwmark ? `|mark ${r.fwmark}/${r.fwmask ?? 0xffffffff}` : '';
  return `${r.family}|${r.priority}|${r.src ?? '*'}/${r.srcLen}|${r.action}|${r.table}${mark}`;
}

export function isStoredRule(r: Pick<RuleInfo, 'priority' | 'protocol'>, f: RouteFilter): boolean {
  return (
    r.protocol === f.protocol ||
    (r.priority >= f.rulePriorityBase && r.priority < f.rulePriorityBase + f.rulePriorityCount)
  );
}

/** Where a watch delivers what it sees. The world model implements it. */
export interface KernelSink {
  /** Replace whole parts of the observed state (after a dump). */
  reset(part: { links?: LinkInfo[]; addrs?: AddrInfo[]; routes: RouteInfo[]; rules: RuleInfo[] }, reason: string): void;
  apply(events: KernelEvent[]): void;
  foreign(counts: ForeignCounts): void;
}
