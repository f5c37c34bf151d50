/**
 * Timers for delays taken from the config. Node clamps any delay over 2^31−1 ms (~24.8 days)
 * to 1 ms, with only a TimeoutOverflowWarning: `probe.interval: 30d` probed ~400 times a
 * second and `max_connect: 30d` hung every dial up at once. `after` waits as written, however
 * long, by re-arming in steps Node accepts. Every timer armed from a config value goes
 * through here.
 */

/** The longest delay Node's timers take as given. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Timer {
  clear(): void;
}

export interface AfterOptions {
  /** Let the process exit while only this timer is pending (default true: the socket keeps the daemon alive). */
  unref?: boolean;
}

/** Runs `fn` once, `ms` from now (monotonic clock); `clear()` cancels it. */
export function after(ms: number, fn: () => void, opts: AfterOptions = {}): Timer {
  const due = performance.now() + Math.max(0, ms);
  let handle: NodeJS.Timeout | undefined;
  const arm = (left: number) => {
    handle = setTimeout(
      () => {
        const rest = due - performance.now();
        if (rest >= 1) arm(rest);
        else fn();
      },
      Math.min(Math.max(0, left), MAX_TIMER_MS),
    );
    if (opts.unref !== false) handle.unref();
  };
  arm(ms);
  return { clear: () => clearTimeout(handle) };
}
