/**
 * Retry bookkeeping for the apply phase: an op the kernel (or nft) refused is tried again
 * with exponential backoff up to a ceiling, but only while nothing changed. A new kernel
 * event (the world's stamp moved) or a different desire for the same op retries at once:
 * a route refused while its link was admin-down must go in the moment the link is up.
 * Each distinct error is reported once (`failed` says whether it is new); the count and
 * the next try are shown in status. Pure data with an explicit clock.
 */
import { isDeepStrictEqual } from 'node:util';

export interface Failure {
  /** What is being retried: an ip command, "nft ruleset", "conntrack release". */
  op: string;
  error: string;
  /** Failures in a row (of any error). */
  count: number;
  since: number;
  nextAt: number;
}

interface Entry extends Failure {
  delayMs: number;
  stamp: number;
  desire: unknown;
}

export const BACKOFF_FIRST_MS = 1000;
export const BACKOFF_CEILING_MS = 30_000;

export class Backoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly firstMs = BACKOFF_FIRST_MS,
    private readonly ceilingMs = BACKOFF_CEILING_MS,
  ) {}

  /** Whether `op` may be tried now: it is not failing, its wait is over, or the world or the desire changed. */
  allowed(op: string, now: number, stamp: number, desire?: unknown): boolean {
    const e = this.entries.get(op);
    return !e || now >= e.nextAt || e.stamp !== stamp || !isDeepStrictEqual(e.desire, desire);
  }

  /** Records a failure; true when this error is new for the op (the caller logs it then, not on every retry). */
  failed(op: string, error: string, now: number, stamp: number, desire?: unknown): boolean {
    const e = this.entries.get(op);
    const delayMs = e ? Math.min(this.ceilingMs, e.delayMs * 2) : this.firstMs;
    this.entries.set(op, {
      op,
      error,
      count: (e?.count ?? 0) + 1,
      since: e?.since ?? now,
      nextAt: now + delayMs,
      delayMs,
      stamp,
      desire,
    });
    return e?.error !== error;
  }

  /** The op worked (or is no longer wanted): the failure it ended, if any. */
  cleared(op: string): Failure | undefined {
    const e = this.entries.get(op);
    this.entries.delete(op);
    return e;
  }

  /** Forget failures of ops that are not wanted any more. */
  retain(wanted: (op: string) => boolean): void {
    for (const op of this.entries.keys()) if (!wanted(op)) this.entries.delete(op);
  }

  /** The earliest retry due after `after`, to wake the loop then. */
  nextAt(after = Number.NEGATIVE_INFINITY): number | undefined {
    let at: number | undefined;
    for (const e of this.entries.values()) if (e.nextAt > after && (at === undefined || e.nextAt < at)) at = e.nextAt;
    return at;
  }

  view(): Failure[] {
    return [...this.entries.values()].map(({ op, error, count, since, nextAt }) => ({
      op,
      error,
      count,
      since,
      nextAt,
    }));
  }
}
