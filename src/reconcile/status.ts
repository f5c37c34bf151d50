/** What `uplink status` shows of the reconcile loop. */
import type { Failure } from './backoff.js';

export interface RunRecord {
  at: string;
  /** Why the run happened (the marks since the run before). */
  reasons: string[];
  /** Ops applied (kernel ops, sysctls), and those held back by a backoff. */
  ops: number;
  throttled: number;
  durationMs: number;
}

export interface ReconcileStatus {
  runs: number;
  last?: RunRecord;
  /** Ops that keep failing: each error, how often, and when the next try is. */
  failing: (Omit<Failure, 'since' | 'nextAt'> & { since: string; nextAt: string })[];
}
