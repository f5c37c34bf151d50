/**
 * In-memory kernel for unit tests: records every command and echoes applied
 * changes back as kernel events, like the real kernel does, so the whole loop
 * (watch → world → reconcile → apply → watch) runs without a machine.
 */
import type { KernelSink, KernelWatch } from './kernel.js';
import { displayCommand, type KernelOp, type RouteSpec, type RuleSpec } from './ops.js';
import type { ProbeRequest, ProbeResult } from './probe/types.js';
import type { ProbeRunner } from './system.js';
import type { NftChain } from './nft.js';
import { routeKey, ruleKey, type AddrInfo, type KernelEvent, type LinkInfo, type RouteInfo, type RuleInfo, type WatchStats } from './types.js';

export class FakeKernel {
  readonly links = new Map<number, LinkInfo>();
  readonly addrs: AddrInfo[] = [];
  readonly routes = new Map<string, RouteInfo>();
  readonly rules = new Map<string, RuleInfo>();
  sink?: KernelSink;
  stats: WatchStats = { messages: 0, overruns: 0, resyncs: 0 };

  emit(events: KernelEvent[]): void {
    this.stats.messages += events.length;
    for (const e of events) {
      if (e.kind === 'link') e.op === 'new' ? this.links.set(e.link.index, e.link) : this.links.delete(e.link.index);
      else if (e.kind === 'route') e.op === 'new' ? this.routes.set(routeKey(e.route), e.route) : this.routes.delete(routeKey(e.route));
      else if (e.kind === 'rule') e.op === 'new' ? this.rules.set(ruleKey(e.rule), e.rule) : this.rules.delete(ruleKey(e.rule));
      else if (e.op === 'new') this.addrs.push(e.addr);
      else this.addrs.splice(this.addrs.findIndex((a) => a.address === e.addr.address && a.index === e.addr.index), 1);
    }
    this.sink?.apply(events);
  }

  indexOf(dev: string | undefined): number | undefined {
    for (const l of this.links.values()) if (l.name === dev) return l.index;
    return undefined;
  }
}

export function specToRoute(s: RouteSpec, oif?: number): RouteInfo {
  return {
    family: s.family, table: s.table, protocol: s.protocol, type: s.type, dst: s.dst, dstLen: s.dstLen,
    gateway: s.gateway, oif, metric: s.metric, linkdown: false,
  };
}

export function specToRule(s: RuleSpec): RuleInfo {
  return {
    family: s.family, priority: s.priority, action: 'lookup', table: s.table, protocol: s.protocol,
    src: s.src, srcLen: s.src ? s.srcLen ?? (s.family === 4 ? 32 : 128) : 0, suppressPrefixlen: s.suppressPrefixlen ?? -1,
    ...(s.fwmark !== undefined ? { fwmark: s.fwmark, fwmask: s.fwmask ?? 0xffffffff } : {}),
  };
}

export class FakeSystem {
  readonly kind = 'fake';
  readonly kernel = new FakeKernel();
  readonly commands: string[] = [];
  readonly sysctls = new Map<string, string>();
  /** Set to make the next apply fail, as a kernel refusing a route would. */
  failNext?: string;
  /** Decides each probe; default: every probe answers in 1 ms. */
  probeAnswer: (req: ProbeRequest) => ProbeResult | Promise<ProbeResult> = () => ({ ok: true, rttMs: 1 });

  kernelWatch(): KernelWatch {
    const k = this.kernel;
    return {
      async start(sink: KernelSink) {
        k.sink = sink;
        sink.reset({ links: [...k.links.values()], addrs: [...k.addrs], routes: [...k.routes.values()], rules: [...k.rules.values()] }, 'initial dump');
      },
      async stop() {
        k.sink = undefined;
      },
      stats: () => ({ ...k.stats }),
    };
  }

  prober(): ProbeRunner {
    return {
      start: async () => undefined,
      stop: async () => undefined,
      probe: async (req) => this.probeAnswer(req),
    };
  }

  async apply(ops: KernelOp[]): Promise<void> {
    if (this.failNext) {
      const msg = this.failNext;
      this.failNext = undefined;
      throw new Error(msg);
    }
    for (const o of ops) {
      this.commands.push(displayCommand(o));
      if ('addr' in o) {
        const a = o.addr;
        this.kernel.emit([{ kind: 'addr', op: 'new', addr: { family: a.family, index: this.kernel.indexOf(a.dev) ?? 0, address: a.address, prefixlen: a.prefixlen, scope: 0 } }]);
        continue;
      }
      if ('rule' in o) {
        this.kernel.emit([{ kind: 'rule', op: o.op === 'add' ? 'new' : 'del', rule: specToRule(o.rule) }]);
        continue;
      }
      const route = specToRoute(o.route, this.kernel.indexOf(o.route.dev));
      this.kernel.emit([{ kind: 'route', op: o.op === 'del' ? 'del' : 'new', route }]);
    }
  }

  /** nftables batches applied, newest last; `nftTable` is what `nft list` shows (undefined: no table). */
  readonly nftBatches: unknown[] = [];
  nftTable?: { nftables: Record<string, unknown>[] };
  nftReject?: string;

  async nft(batch: unknown, check = false): Promise<void> {
    if (this.nftReject) throw new Error(this.nftReject);
    if (check) return;
    this.nftBatches.push(batch);
    const items = (batch as { nftables: Record<string, unknown>[] }).nftables;
    // A batch that only updates a set (flush + add element) leaves the table as it is.
    if (!items.some((e) => 'delete' in e || ('add' in e && 'table' in (e.add as object)))) return;
    // What follows the batch's last delete is the new table; it gets a new handle, as in the kernel.
    const lastDelete = items.map((e) => 'delete' in e).lastIndexOf(true);
    const created = items.slice(lastDelete + 1).map((e) => (e.add ?? e) as Record<string, unknown>);
    const withHandle = created.map((e) => ('table' in e ? { table: { ...(e.table as object), handle: this.nftBatches.length } } : e));
    this.nftTable = withHandle.length ? { nftables: withHandle } : undefined;
  }

  /** Chains of other tables, as `nft list chains` would show them. */
  foreignChains: NftChain[] = [];

  readonly nftSnapshots: string[] = [];

  async nftSnapshot(_table: string, file: string): Promise<void> {
    this.nftSnapshots.push(file);
  }

  /** Open proxies by name: a test injects packets with `inject`, and sees replays in `written`. */
  readonly proxies = new Map<string, { o: { name: string; address: string; onPackets: (p: Buffer[]) => void }; written: Buffer[]; open: boolean }>();
  async openProxy(o: { name: string; address: string; onPackets: (p: Buffer[]) => void; onError: (m: string) => void }) {
    const p = { o, written: [] as Buffer[], open: true };
    this.proxies.set(o.name, p);
    return { name: o.name, write: (pkts: Buffer[]) => (p.written.push(...pkts), pkts.length), close: async () => void (p.open = false) };
  }

  async removeProxy(name: string): Promise<void> {
    this.proxies.delete(name);
  }

  /** conntrackFlush calls, newest last. */
  readonly conntrackFlushes: string[][] = [];
  async conntrackFlush(snatAddrs: string[]) {
    this.conntrackFlushes.push([...snatAddrs]);
    return { examined: 0, deleted: 0, vanished: 0 };
  }

  /** Elements of sets by name, as a test wants `nft list set` to show them. */
  readonly nftSets = new Map<string, { key: string; expiresMs?: number }[]>();
  async nftSetElements(_table: string, set: string) {
    return this.nftSets.get(set);
  }

  async nftChains(): Promise<NftChain[]> {
    return this.foreignChains;
  }

  async nftList(): Promise<{ nftables: Record<string, unknown>[] } | undefined> {
    return this.nftTable;
  }

  async sysctl(key: string, value: string): Promise<boolean> {
    const changed = this.sysctls.get(key) !== value;
    this.sysctls.set(key, value);
    return changed;
  }
}
