/**
 * --dry-run's view of the kernel: the real kernel as the watch reports it, with the ops the
 * daemon would have applied laid over it. The world sees them as done, so the planner does
 * not plan them again and each is logged once, while nothing of the machine changes.
 */
import {
  routeKey,
  ruleKey,
  type AddrInfo,
  type KernelEvent,
  type LinkInfo,
  type RouteInfo,
  type RuleInfo,
} from '../model/kernel.js';
import { specToRoute, specToRule, type KernelOp } from '../model/ops.js';
import type { KernelSink, KernelWatch } from './kernel.js';

/** Indexes for interfaces that exist only in the overlay (demand proxies). */
const SYNTHETIC_INDEX_BASE = 1_000_000;

export class KernelOverlay {
  private sink?: KernelSink;
  private readonly routes = new Map<string, RouteInfo>();
  private readonly goneRoutes = new Set<string>();
  private readonly rules = new Map<string, RuleInfo>();
  private readonly goneRules = new Set<string>();
  private readonly addrs: AddrInfo[] = [];
  private readonly links = new Map<string, LinkInfo>();
  private readonly index = new Map<string, number>();

  /** The real watch, delivering into the overlay instead of straight into the world. */
  wrap(real: KernelWatch): KernelWatch {
    const inner: KernelSink = {
      reset: (part, reason) => this.reset(part, reason),
      apply: (events) => this.passThrough(events),
      foreign: (c) => this.sink?.foreign(c),
    };
    return {
      start: (sink) => {
        this.sink = sink;
        return real.start(inner);
      },
      stop: () => real.stop(),
      stats: () => real.stats(),
      watchCarrier: real.watchCarrier?.bind(real),
    };
  }

  /** Lays would-be ops over the kernel, as if it had applied them. */
  apply(ops: KernelOp[]): void {
    const events: KernelEvent[] = [];
    for (const o of ops) {
      if ('addr' in o) {
        const a: AddrInfo = {
          family: o.addr.family,
          index: this.index.get(o.addr.dev) ?? 0,
          address: o.addr.address,
          prefixlen: o.addr.prefixlen,
          scope: 0,
        };
        this.addrs.push(a);
        events.push({ kind: 'addr', op: 'new', addr: a });
      } else if ('rule' in o) {
        const r = specToRule(o.rule);
        const key = ruleKey(r);
        if (o.op === 'del') {
          this.rules.delete(key);
          this.goneRules.add(key);
        } else {
          this.goneRules.delete(key);
          this.rules.set(key, r);
        }
        events.push({ kind: 'rule', op: o.op === 'del' ? 'del' : 'new', rule: r });
      } else {
        const r = specToRoute(o.route, this.index.get(o.route.dev ?? ''));
        const key = routeKey(r);
        if (o.op === 'del') {
          this.routes.delete(key);
          this.goneRoutes.add(key);
        } else {
          this.goneRoutes.delete(key);
          this.routes.set(key, r);
        }
        events.push({ kind: 'route', op: o.op === 'del' ? 'del' : 'new', route: r });
      }
    }
    this.sink?.apply(events);
  }

  /** An interface only the overlay has (a demand proxy that would have been created). */
  addLink(name: string): void {
    if (this.links.has(name) || this.index.has(name)) return;
    const link: LinkInfo = {
      index: SYNTHETIC_INDEX_BASE + this.links.size,
      name,
      up: true,
      carrier: true,
      operstate: 'unknown',
      mtu: 1500,
      kind: 'tun',
    };
    this.links.set(name, link);
    this.index.set(name, link.index);
    this.sink?.apply([{ kind: 'link', op: 'new', link }]);
  }

  removeLink(name: string): void {
    const link = this.links.get(name);
    if (!link) return;
    this.links.delete(name);
    this.index.delete(name);
    this.sink?.apply([{ kind: 'link', op: 'del', link }]);
  }

  private learn(links: LinkInfo[]): void {
    for (const l of links) if (!this.links.has(l.name)) this.index.set(l.name, l.index);
  }

  private reset(part: Parameters<KernelSink['reset']>[0], reason: string): void {
    if (part.links) this.learn(part.links);
    this.sink?.reset(
      {
        links: part.links && [...part.links, ...this.links.values()],
        addrs: part.addrs && [...part.addrs, ...this.addrs],
        routes: [...part.routes.filter((r) => !this.goneRoutes.has(routeKey(r))), ...this.routes.values()],
        rules: [...part.rules.filter((r) => !this.goneRules.has(ruleKey(r))), ...this.rules.values()],
      },
      reason,
    );
  }

  /** Real events, less those the overlay overrides (a route it deleted, or added). */
  private passThrough(events: KernelEvent[]): void {
    this.learn(events.flatMap((e) => (e.kind === 'link' && e.op === 'new' ? [e.link] : [])));
    const kept = events.filter((e) => {
      if (e.kind === 'route')
        return e.op === 'new' ? !this.goneRoutes.has(routeKey(e.route)) : !this.routes.has(routeKey(e.route));
      if (e.kind === 'rule')
        return e.op === 'new' ? !this.goneRules.has(ruleKey(e.rule)) : !this.rules.has(ruleKey(e.rule));
      return true;
    });
    if (kept.length) this.sink?.apply(kept);
  }
}
