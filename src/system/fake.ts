/**
 * In-memory kernel for unit tests: records every command and echoes applied
 * changes back as kernel events, like the real kernel does, so the whole loop
 * (watch → world → reconcile → apply → watch) runs without a machine.
 */
import type { KernelSink, KernelWatch } from './kernel.js';
import { routeCommand, type KernelOp, type RouteSpec } from './ops.js';
import { routeKey, type AddrInfo, type KernelEvent, type LinkInfo, type RouteInfo, type WatchStats } from './types.js';

export class FakeKernel {
  readonly links = new Map<number, LinkInfo>();
  readonly addrs: AddrInfo[] = [];
  readonly routes = new Map<string, RouteInfo>();
  sink?: KernelSink;
  stats: WatchStats = { messages: 0, overruns: 0, resyncs: 0 };

  emit(events: KernelEvent[]): void {
    this.stats.messages += events.length;
    for (const e of events) {
      if (e.kind === 'link') e.op === 'new' ? this.links.set(e.link.index, e.link) : this.links.delete(e.link.index);
      else if (e.kind === 'route') e.op === 'new' ? this.routes.set(routeKey(e.route), e.route) : this.routes.delete(routeKey(e.route));
      else if (e.op === 'new') this.addrs.push(e.addr);
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

export class FakeSystem {
  readonly kind = 'fake';
  readonly kernel = new FakeKernel();
  readonly commands: string[] = [];
  /** Set to make the next apply fail, as a kernel refusing a route would. */
  failNext?: string;

  kernelWatch(): KernelWatch {
    const k = this.kernel;
    return {
      async start(sink: KernelSink) {
        k.sink = sink;
        sink.reset({ links: [...k.links.values()], addrs: [...k.addrs], routes: [...k.routes.values()] }, 'initial dump');
      },
      async stop() {
        k.sink = undefined;
      },
      stats: () => ({ ...k.stats }),
    };
  }

  async apply(ops: KernelOp[]): Promise<void> {
    if (this.failNext) {
      const msg = this.failNext;
      this.failNext = undefined;
      throw new Error(msg);
    }
    for (const o of ops) {
      this.commands.push(`ip ${routeCommand(o)}`);
      const route = specToRoute(o.route, this.kernel.indexOf(o.route.dev));
      this.kernel.emit([{ kind: 'route', op: o.op === 'add' ? 'new' : 'del', route }]);
    }
  }
}
