/** The kernel-watch contract shared by the Linux implementation and the fake. */
import type { KernelSink, WatchStats } from '../model/kernel.js';

export type { KernelSink } from '../model/kernel.js';

export interface KernelWatch {
  /** Resolves after the first full dump has reached the sink. */
  start(sink: KernelSink): Promise<void>;
  stop(): Promise<void>;
  stats(): WatchStats;
  /** Interfaces whose carrier deserves a fast path (the uplinks'). */
  watchCarrier?(names: string[]): void;
  /**
   * nf_tables change events: `fn` hears the names of the tables that changed (`lost`: events
   * were dropped, any may have). Returns false where the kernel offers none (then poll).
   */
  onRuleset?(fn: RulesetListener): boolean;
}

export type RulesetListener = (tables: readonly string[], lost: boolean) => void;
