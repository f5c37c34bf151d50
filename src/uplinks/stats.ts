/** Probe statistics of one uplink over a sliding window: streaks, loss, RTT and jitter. */
import type { HealthFacts } from './state.js';

export interface RoundResult {
  pass: boolean;
  /** Per-target answers of this round (for loss) and their RTTs. */
  answered: number;
  sent: number;
  rtts: number[];
  at: number;
}

export interface StatsView extends HealthFacts {
  lastRttMs?: number;
  jitterMs?: number;
  lastRoundAt?: number;
}

export class ProbeStats {
  private window: RoundResult[] = [];
  rounds = 0;
  /** Probes sent and unanswered since the daemon started (counters: a reset keeps them). */
  sentTotal = 0;
  lostTotal = 0;
  passStreak = 0;
  failStreak = 0;

  /**
   * 30 rounds: at 30 % loss a 20-round window looked clean (≤ 5 % loss) often enough to pull
   * traffic back about once a minute on the fast profile (simulated); 30 rounds make that ~2 %.
   */
  constructor(private readonly size = 30) {}

  record(r: RoundResult): void {
    this.rounds++;
    this.sentTotal += r.sent;
    this.lostTotal += r.sent - r.answered;
    this.passStreak = r.pass ? this.passStreak + 1 : 0;
    this.failStreak = r.pass ? 0 : this.failStreak + 1;
    this.window.push(r);
    if (this.window.length > this.size) this.window.shift();
  }

  /** The link went away or changed: judge it afresh. */
  reset(): void {
    this.window = [];
    this.rounds = this.passStreak = this.failStreak = 0;
  }

  view(): StatsView {
    const sent = this.window.reduce((n, r) => n + r.sent, 0);
    const answered = this.window.reduce((n, r) => n + r.answered, 0);
    const rtts = this.window.flatMap((r) => r.rtts);
    const avg = rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length : undefined;
    let jitter: number | undefined;
    if (rtts.length > 1) jitter = rtts.slice(1).reduce((a, x, i) => a + Math.abs(x - rtts[i]), 0) / (rtts.length - 1);
    const last = this.window.at(-1);
    return {
      rounds: this.rounds,
      passStreak: this.passStreak,
      failStreak: this.failStreak,
      lossPct: sent ? (100 * (sent - answered)) / sent : 0,
      avgRttMs: avg,
      jitterMs: jitter,
      lastRttMs: last?.rtts.at(-1),
      lastRoundAt: last?.at,
    };
  }
}
