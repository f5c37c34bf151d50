/**
 * Dashboard logins. `uplink dashboard` asks the daemon (over the control socket, which only
 * root and the socket's group reach) for a one-time code; opening its URL trades the code for a
 * session cookie. The token itself is never put in a page or a URL.
 */
import { newSecret, sameSecret } from './auth.js';

export const SESSION_LIMITS = { codeMs: 5 * 60_000, sessionMs: 12 * 3600_000, maxSessions: 64, maxCodes: 16 };

export class Sessions {
  private readonly codes = new Map<string, number>();
  private readonly live = new Map<string, number>();

  constructor(private readonly limits = SESSION_LIMITS) {}

  newCode(now = Date.now()): string {
    this.prune(now);
    const code = newSecret();
    this.codes.set(code, now + this.limits.codeMs);
    while (this.codes.size > this.limits.maxCodes) this.codes.delete(this.codes.keys().next().value!);
    return code;
  }

  /** Spends a code (once); the new session id, or undefined for an unknown or expired code. */
  redeem(code: string, now = Date.now()): string | undefined {
    this.prune(now);
    const hit = [...this.codes.keys()].find((c) => sameSecret(c, code));
    if (!hit) return undefined;
    this.codes.delete(hit);
    return this.open(now);
  }

  /** A session for a client that showed the token (the page's login form). */
  open(now = Date.now()): string {
    const id = newSecret();
    this.live.set(id, now + this.limits.sessionMs);
    while (this.live.size > this.limits.maxSessions) this.live.delete(this.live.keys().next().value!);
    return id;
  }

  ids(now = Date.now()): ReadonlySet<string> {
    this.prune(now);
    return new Set(this.live.keys());
  }

  private prune(now: number): void {
    for (const m of [this.codes, this.live]) for (const [k, until] of m) if (until <= now) m.delete(k);
  }
}
