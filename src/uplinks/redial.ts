/**
 * Re-dial policy (pure): exponential backoff with a cap after failed dials,
 * `holdoff` after the peer or the driver hung up (never after an idle hang-up),
 * and a minimum interval between the starts of two dials (some ISPs punish fast
 * reconnects).
 */
export interface RedialPolicy {
  retries?: number;
  backoff: number;
  max_backoff: number;
  holdoff: number;
  min_interval: number;
}

export type Hangup = 'peer' | 'probe' | 'timeout' | 'idle' | 'admin' | 'none';

export interface RedialInput {
  policy: RedialPolicy;
  /** Failed dials in a row. */
  failures: number;
  hangup: Hangup;
  lastDialAt?: number;
  now: number;
}

/** When the next dial may start (ms epoch). */
export function nextDialAt(i: RedialInput): number {
  const { policy: p, failures } = i;
  let delay = failures > 0 ? Math.min(p.backoff * 2 ** (failures - 1), p.max_backoff) : 0;
  // Holdoff after the peer or the driver hung up (connect process gone, probes
  // failed, connect timed out); never after an idle or an admin hang-up.
  if (i.hangup === 'peer' || i.hangup === 'probe' || i.hangup === 'timeout') delay = Math.max(delay, p.holdoff);
  let at = i.now + delay;
  if (i.lastDialAt !== undefined) at = Math.max(at, i.lastDialAt + p.min_interval);
  return at;
}

/** retries re-dials after the first dial: blocked once failures exceed them. */
export function gaveUp(p: RedialPolicy, failures: number): boolean {
  return p.retries !== undefined && failures > p.retries;
}
