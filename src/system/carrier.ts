/**
 * Carrier fast path. The kernel reports a carrier change to the FIB (the
 * `linkdown` flag) and to rtnetlink alike through linkwatch, which treats it as
 * urgent only for stacked devices whose iflink differs from their ifindex. For a
 * physical NIC (or a veth whose peer has the same ifindex) a carrier loss can wait
 * up to a second for linkwatch's rate limit, measured here at 0.4 s in half of
 * the trials. /sys/class/net/IF/carrier reads the driver's flag directly, so the
 * uplinks' interfaces are polled (a few reads per 10 ms) and a change is reported
 * as a link event at once; the netlink event that follows agrees with it.
 */
import { readFileSync } from 'node:fs';
import type { LinkInfo } from '../model/kernel.js';

export class CarrierPoller {
  private timer?: NodeJS.Timeout;
  private names = new Set<string>();

  constructor(
    private readonly intervalMs: number,
    /** The link as last reported by netlink (or by us), by name. */
    private readonly known: (name: string) => LinkInfo | undefined,
    private readonly report: (link: LinkInfo) => void,
  ) {}

  private started = false;

  /** The interfaces to poll; with none the timer is off (an idle daemon must sleep). */
  watch(names: string[]): void {
    this.names = new Set(names);
    this.arm();
  }

  start(): void {
    this.started = true;
    this.arm();
  }

  stop(): void {
    this.started = false;
    this.arm();
  }

  private arm(): void {
    const want = this.started && this.intervalMs > 0 && this.names.size > 0;
    if (want && !this.timer) {
      this.timer = setInterval(() => this.poll(), this.intervalMs);
      this.timer.unref();
    } else if (!want && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Whether the poll timer runs (for tests). */
  get polling(): boolean {
    return this.timer !== undefined;
  }

  private poll(): void {
    for (const name of this.names) {
      const link = this.known(name);
      if (!link?.up) continue;
      const carrier = readCarrier(name, link.index);
      if (carrier !== undefined && carrier !== link.carrier) this.report({ ...link, carrier });
    }
  }
}

/** Synchronous on purpose: a sysfs attribute read takes microseconds, and the threadpool may be busy. */
function readCarrier(name: string, index: number): boolean | undefined {
  try {
    // A daemon in a namespace whose /sys belongs to another one must not trust it.
    if (Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8')) !== index) return undefined;
    return readFileSync(`/sys/class/net/${name}/carrier`, 'utf8').trim() === '1';
  } catch {
    return undefined; // absent, or admin down (EINVAL): netlink tells us those
  }
}
