/**
 * Per-channel rate limit and de-duplication (pure, the clock passed in): in each window the
 * first `burst` distinct notices go out at once; repeats of a notice already sent or held and
 * everything past the burst go into one digest, sent when the window ends. So 100 flaps a
 * minute make `burst` mails and a digest per window, and nothing is silently lost.
 */
import type { Notice } from './notices.js';

export interface Limit {
  burst: number;
  window: number;
}

interface Held {
  notice: Notice;
  count: number;
}

export class Limiter {
  private windowStart?: number;
  private sent = 0;
  private readonly seen = new Set<string>();
  private held = new Map<string, Held>();

  constructor(private readonly limit: Limit) {}

  /** `send` now, or `held` for the digest. */
  admit(n: Notice, now: number): 'send' | 'held' {
    if (this.windowStart === undefined || now - this.windowStart >= this.limit.window) this.newWindow(now);
    if (!this.seen.has(n.key) && this.sent < this.limit.burst) {
      this.seen.add(n.key);
      this.sent++;
      return 'send';
    }
    const h = this.held.get(n.key);
    // The latest notice of a kind stands for all of them: it says how things are now.
    this.held.set(n.key, { notice: n, count: (h?.count ?? 0) + 1 });
    return 'held';
  }

  /** When the current window ends (undefined: no window open). */
  get windowEnds(): number | undefined {
    return this.windowStart === undefined ? undefined : this.windowStart + this.limit.window;
  }

  /** At the window's end: what was held, oldest kind first (and a fresh window). */
  takeDigest(now: number): Held[] {
    const out = [...this.held.values()];
    this.held = new Map();
    if (this.windowStart !== undefined && now - this.windowStart >= this.limit.window) {
      this.windowStart = undefined;
      this.sent = 0;
      this.seen.clear();
    }
    return out;
  }

  private newWindow(now: number): void {
    this.windowStart = now;
    this.sent = 0;
    this.seen.clear();
  }
}

/** One digest notice for what a window held. */
export function digest(held: readonly { notice: Notice; count: number }[], host: string, windowMs: number): Notice {
  const total = held.reduce((a, h) => a + h.count, 0);
  const lines = held.map(
    (h) => `- ${h.count}x ${h.notice.subject.replace(/^\[uplinkd [^\]]*\] /, '')} (last at ${h.notice.time})`,
  );
  const last = held.at(-1)!.notice;
  return {
    event: last.event,
    key: 'digest',
    time: last.time,
    subject: `[uplinkd ${host}] digest: ${total} more notification${total === 1 ? '' : 's'} in ${Math.round(windowMs / 60_000)} min`,
    text: [
      `${total} notification${total === 1 ? ' was' : 's were'} held back by the rate limit (${Math.round(windowMs / 60_000)} min window):`,
      '',
      ...lines,
      '',
      'The latest of each kind:',
      '',
      ...held.map((h) => h.notice.text),
    ].join('\n'),
  };
}
