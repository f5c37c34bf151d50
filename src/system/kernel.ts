/** The kernel-watch contract shared by the Linux implementation and the fake. */
import type { AddrInfo, ForeignCounts, KernelEvent, LinkInfo, RouteInfo, RuleInfo, WatchStats } from '../model/kernel.js';

/** Where a watch delivers what it sees. The world model implements it. */
export interface KernelSink {
  /** Replace whole parts of the observed state (after a dump). */
  reset(part: { links?: LinkInfo[]; addrs?: AddrInfo[]; routes: RouteInfo[]; rules: RuleInfo[] }, reason: string): void;
  apply(events: KernelEvent[]): void;
  foreign(counts: ForeignCounts): void;
}

export interface KernelWatch {
  /** Resolves after the first full dump has reached the sink. */
  start(sink: KernelSink): Promise<void>;
  stop(): Promise<void>;
  stats(): WatchStats;
  /** Interfaces whose carrier deserves a fast path (the uplinks'). */
  watchCarrier?(names: string[]): void;
}
