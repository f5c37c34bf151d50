/**
 * --dry-run's view of the kernel: the real kernel as the watch reports it, with the ops the
 * daemon would have applied laid over it. The world sees them as done, so the planner does
 * not plan them again and each is logged once, while nothing of the machine changes.
 */
import {
  replaceKey,
  routeKey,
  ruleKey,
  type AddrInfo,
  type KernelEvent,
  type LinkInfo,
  type RouteInfo,
  type RuleInfo,
} from '../model/kernel.js';
import { opEvent, type KernelOp } from '../model/ops.js';
import type { KernelSink, KernelWatch } from './kernel.js';

/** Indexes for interfaces that exist only in the overlay (demand proxies). */
const SYNTHETIC_INDEX_BASE = 1_000_000;

/**
 * Objects of one kind (routes or rules) as the overlay changes them: those it would have
 * added, and the keys of those it would have deleted.
 */
class Layer<T> {
  private readonly added = new Map<string, T>();
  private readonly gone = new Set<string>();
  /** Replace groups (routes) the overlay replaced into: their other members are gone. */
  private readonly replaced = new Map<string, string>();
  constructor(
    private readonly key: (v: T) => string,
    private readonly group: (v: T) => string = key,
  ) {}

  lay(op: 'new' | 'del', v: T, replaced = false): void {
    const k = this.key(v);
    if (op === 'del') {
      this.added.delete(k);
      this.gone.add(k);
    } else {
      this.gone.delete(k);
      this.added.set(k, v);
      if (replaced) this.replaced.set(this.group(v), k);
    }
  }

  /** A real dump, as the overlay would leave it. */
  over(real: T[]): T[] {
    const hidden = (v: T) => {
      const keep = this.replaced.get(this.group(v));
      return this.gone.has(this.key(v)) || (keep !== undefined && keep !== this.key(v));
    };
    return [...real.filter((v) => !hidden(v)), ...this.added.values()];
  }

  /** A real event the overlay overrides: the re-add of what it deleted, the delete of what it added. */
  hides(op: 'new' | 'del', v: T): boolean {
    return op === 'new' ? this.gone.has(this.key(v)) : this.added.has(this.key(v));
  }
}

export class KernelOverlay {
  private sink?: KernelSink;
  private readonly routes = new Layer<RouteInfo>(routeKey, (r) => `${replaceKey(r)}|${r.protocol}`);
  private readonly rules = new Layer<RuleInfo>(ruleKey);
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
      onRuleset: real.onRuleset?.bind(real),
    };
  }

  /** Lays would-be ops over the kernel, as if it had applied them. */
  apply(ops: KernelOp[]): void {
    const events = ops.map((o) => opEvent(o, (dev) => this.index.get(dev ?? '')));
    for (const e of events) {
      if (e.kind === 'addr' && e.op === 'new') this.addrs.push(e.addr);
      else if (e.kind === 'addr') {
        const i = this.addrs.findIndex((a) => a.address === e.addr.address && a.index === e.addr.index);
        if (i >= 0) this.addrs.splice(i, 1);
      } else if (e.kind === 'rule') this.rules.lay(e.op, e.rule);
      else if (e.kind === 'route') this.routes.lay(e.op, e.route, e.replaced);
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
        routes: this.routes.over(part.routes),
        rules: this.rules.over(part.rules),
      },
      reason,
    );
  }

  /** Real events, less those the overlay overrides (a route it deleted, or added). */
  private passThrough(events: KernelEvent[]): void {
    this.learn(events.flatMap((e) => (e.kind === 'link' && e.op === 'new' ? [e.link] : [])));
    const kept = events.filter(
      (e) =>
        !(e.kind === 'route' && this.routes.hides(e.op, e.route)) &&
        !(e.kind === 'rule' && this.rules.hides(e.op, e.rule)),
    );
    if (kept.length) this.sink?.apply(kept);
  }
}
