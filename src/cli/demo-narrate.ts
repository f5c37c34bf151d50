/**
 * What `uplink demo` prints: `== title` lines, the daemon's events as they arrive, and one
 * `[PASS]` or `[FAIL]` line per check of the scenario, with how long it took.
 */
import { ControlClient } from '../control/client.js';
import type { DaemonEvent } from '../events/bus.js';
import { formatEvent } from './monitor.js';

/** Everything the demo prints goes through here, so an interrupted demo falls silent at once. */
export class Narrator {
  private silenced = false;

  say(title: string): void {
    this.line(`\n== ${title}`);
  }

  line(text: string): void {
    if (!this.silenced) console.log(text);
  }

  /** After Ctrl-C: the scenario may still be running while the sandbox goes; say nothing more of it. */
  silence(): void {
    this.silenced = true;
  }
}

/** Event types worth a line in the narration; the rest (kernel, reconcile) is `uplink monitor`'s detail. */
const SHOWN = new Set<DaemonEvent['type']>(['uplink', 'selection', 'demand', 'daemon', 'config', 'firewall']);

export interface EventFeed {
  /** Every event since the feed opened, shown or not. */
  events: DaemonEvent[];
  close(): void;
}

/** Subscribes to the daemon's events and prints each shown one as it arrives. */
export async function narrateEvents(socket: string, out: Narrator): Promise<EventFeed> {
  const c = new ControlClient(socket);
  await c.connect();
  const events: DaemonEvent[] = [];
  c.onEvent((e) => {
    const ev = e as DaemonEvent;
    events.push(ev);
    if (SHOWN.has(ev.type)) out.line(`  ${formatEvent(ev)}`);
  });
  await c.call('monitor', {});
  return { events, close: () => c.close() };
}

/** The first line of an error, short enough for a check line. */
function reason(e: unknown): string {
  const text = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

export class Checks {
  passed = 0;
  failed = 0;
  private readonly guard: Promise<never>;

  /** `stop` rejects when checking is pointless (the daemon died): a waiting check fails at once. */
  constructor(
    private readonly out: Narrator,
    stop: Promise<never>,
  ) {
    this.guard = stop;
    this.guard.catch(() => undefined); // rejected before any check races it: not unhandled
  }

  /**
   * Runs `verify` (which waits, each wait with its own timeout, and throws when the claim does
   * not hold) and prints the verdict. Its string result is printed under the verdict.
   */
  async check(name: string, claim: string, verify: () => Promise<string | undefined>): Promise<boolean> {
    const t0 = Date.now();
    try {
      const note = await Promise.race([verify(), this.guard]);
      this.passed++;
      this.out.line(`  [PASS] ${name}: ${claim} (${Date.now() - t0} ms)`);
      if (note) this.out.line(`         ${note}`);
      return true;
    } catch (e) {
      this.failed++;
      this.out.line(`  [FAIL] ${name}: ${claim} (${reason(e)})`);
      return false;
    }
  }

  get ok(): boolean {
    return this.failed === 0 && this.passed > 0;
  }

  summary(): string {
    return `checks: ${this.passed} passed, ${this.failed} failed`;
  }
}
