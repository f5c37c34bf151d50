/**
 * The world model: the KernelSink that keeps observed state current and tells
 * its owner "look again". It never decides anything.
 */
import {
  addrKey,
  putRoute,
  routeKey,
  ruleKey,
  type KernelSink,
  type AddrInfo,
  type ForeignCounts,
  type KernelEvent,
  type LinkInfo,
  type RouteInfo,
  type RuleInfo,
} from '../model/kernel.js';
import type { WorldState } from './state.js';

export class World implements KernelSink {
  private links = new Map<number, LinkInfo>();
  private addrs = new Map<string, AddrInfo>();
  private routes = new Map<string, RouteInfo>();
  private rules = new Map<string, RuleInfo>();
  private foreignCounts: ForeignCounts = { ipv4: {}, ipv6: {} };
  /**
   * Moves on every change of what we store (links, addresses, routes, rules), not on foreign
   * counts: an op refused against one stamp is retried at once against the next.
   */
  stamp = 0;

  constructor(private readonly onDirty: (reason: string, urgent?: boolean) => void) {}

  reset(
    part: { links?: LinkInfo[]; addrs?: AddrInfo[]; routes: RouteInfo[]; rules: RuleInfo[] },
    reason: string,
  ): void {
    if (part.links) this.links = new Map(part.links.map((l) => [l.index, l]));
    if (part.addrs) this.addrs = new Map(part.addrs.map((a) => [addrKey(a), a]));
    this.routes = new Map(part.routes.map((r) => [routeKey(r), r]));
    this.rules = new Map(part.rules.map((r) => [ruleKey(r), r]));
    this.stamp++;
    this.onDirty(reason);
  }

  apply(events: KernelEvent[]): void {
    const carrier: string[] = [];
    for (const e of events) {
      if (e.kind === 'link') {
        const before = this.links.get(e.link.index);
        if (e.op === 'new' && before && before.carrier !== e.link.carrier) carrier.push(e.link.name);
        this.applyLink(e.op, e.link);
      } else if (e.kind === 'addr') {
        if (e.op === 'new') this.addrs.set(addrKey(e.addr), e.addr);
        else this.addrs.delete(addrKey(e.addr));
      } else if (e.kind === 'rule') {
        if (e.op === 'new') this.rules.set(ruleKey(e.rule), e.rule);
        else this.rules.delete(ruleKey(e.rule));
      } else putRoute(this.routes, e);
    }
    if (!events.length) return;
    this.stamp++;
    this.onDirty(
      carrier.length ? `carrier change: ${carrier.join(', ')}` : `${events.length} kernel event(s)`,
      carrier.length > 0,
    );
  }

  foreign(counts: ForeignCounts): void {
    this.foreignCounts = counts;
    this.onDirty('foreign route counts');
  }

  /** Whether the link `name` exists and has carrier, as of the last kernel event (cheap: no snapshot). */
  linkUp(name: string): boolean {
    for (const l of this.links.values()) if (l.name === name) return l.up && l.carrier;
    return false;
  }

  snapshot(): WorldState {
    return {
      links: new Map(this.links),
      addrs: new Map(this.addrs),
      routes: new Map(this.routes),
      rules: new Map(this.rules),
      foreign: { ipv4: { ...this.foreignCounts.ipv4 }, ipv6: { ...this.foreignCounts.ipv6 } },
    };
  }

  private applyLink(op: 'new' | 'del', link: LinkInfo): void {
    if (op === 'new') {
      this.links.set(link.index, link);
      return;
    }
    this.links.delete(link.index);
    // The kernel does not announce every address and route of a vanished link.
    for (const [k, a] of this.addrs) if (a.index === link.index) this.addrs.delete(k);
    for (const [k, r] of this.routes) if (r.oif === link.index) this.routes.delete(k);
  }
}
