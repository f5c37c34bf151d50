/**
 * Steps 6 and 7 of a reconcile run (daemon/reconciler.ts), which run beside the loop so that
 * routes never wait for them: the firewall's apply, and the conntrack releases (SNAT flows,
 * routed blocks' flows).
 * Their failures go through the loop's backoff like any other op.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { EventBus } from '../events/bus.js';
import type { Firewall } from '../firewall/apply.js';
import type { Backoff } from '../reconcile/backoff.js';
import type { Desired } from '../reconcile/desired.js';
import type { CtFlushResult, System } from '../system/system.js';
import type { UplinkManager } from '../uplinks/manager.js';

export const FIREWALL_OP = 'nft ruleset';
export const CONNTRACK_OP = 'conntrack release';
export const ROUTED_CONNTRACK_OP = 'conntrack release (routed blocks)';

export interface BesideDeps {
  system: System;
  firewall?: Firewall;
  manager: UplinkManager;
  bus: EventBus;
  log: Logger;
  backoff: Backoff;
  /** An op works (again): the loop logs a recovery once. */
  cleared: (op: string) => void;
  markDirty: (why: string) => void;
  /** A backoff was (re)armed: wake the loop when it runs out. */
  wake: () => void;
}

export class BesideLoop {
  firewallRun?: Promise<void>;
  private firewallAgain = false;
  /** Conntrack releases running, and the job each last completed. */
  private readonly releasing: Partial<Record<'snat' | 'routed', Promise<void>>> = {};
  private readonly released: Partial<Record<'snat' | 'routed', object>> = {};

  constructor(private readonly d: BesideDeps) {}

  /** Waits for both to finish (stop). */
  async drain(): Promise<void> {
    await this.firewallRun;
    await this.releasing.snat;
    await this.releasing.routed;
  }

  /**
   * Step 6: the firewall follows without holding up the loop: its apply spawns nft several
   * times (tens of ms), and a dialed link's held packets or a failover must not wait for
   * that. A refused ruleset is retried with backoff; newly armed proxies get their routes
   * on the next run.
   */
  kickFirewall(want: Desired, now: number, stamp: number): void {
    const fw = this.d.firewall;
    if (!fw) return;
    if (this.firewallRun) {
      this.firewallAgain = true;
      return;
    }
    if (!this.d.backoff.allowed(FIREWALL_OP, now, stamp, want.firewall)) return;
    const armedBefore = [...fw.armedProxies()].join();
    this.firewallRun = fw
      .ensure(want.firewall)
      .then(
        () => this.d.cleared(FIREWALL_OP),
        (e: unknown) => {
          const error = (e as Error).message;
          if (this.d.backoff.failed(FIREWALL_OP, error, now, stamp, want.firewall)) {
            this.d.log.error({ error }, 'firewall: ruleset rejected; the running one stays; retrying with backoff');
            this.d.bus.publish({ type: 'firewall', generation: fw.status().generation, ok: false, message: error });
          }
          this.d.wake();
        },
      )
      .finally(() => {
        this.firewallRun = undefined;
        if ([...fw.armedProxies()].join() !== armedBefore) this.d.markDirty('demand proxies armed');
        // The desire may have moved on while nft ran: look again.
        if (this.firewallAgain) {
          this.firewallAgain = false;
          this.d.markDirty('firewall: apply what is wanted now');
        }
      });
  }

  /**
   * Step 7: once routes point elsewhere, drop the conntrack entries pinned by SNAT to the
   * uplinks that no longer carry traffic, so their flows start over through the selected one
   * (firewall/snat.ts). It runs beside the loop (a big table's dump takes a while; failover
   * must not wait); a failure is a warning retried with backoff: only those flows stay stuck.
   */
  releaseSnat(want: Desired, now: number, stamp: number): void {
    const job = want.snatRelease;
    if (!job) return;
    this.release('snat', job, now, stamp, {
      op: CONNTRACK_OP,
      addresses: job.addresses,
      flush: () => this.d.system.conntrackFlush(job.addresses),
      what: `pinned by SNAT to ${job.addresses.join(', ')}`,
      // The selection moved again meanwhile: its release is due now.
      after: () => {
        if (this.d.manager.selection.selected !== job.selected)
          this.d.markDirty('selection moved during a conntrack release');
      },
    });
  }

  /**
   * Step 7 too: when a routed block (fallback masquerade) moves onto its fallback or back, the
   * flows its new path cannot carry as they are start over (system/conntrack/codec.ts,
   * reroutedFrom): a UDP flow with fixed ports would otherwise never be masqueraded.
   */
  releaseRouted(want: Desired, now: number, stamp: number): void {
    const job = want.routedRelease;
    if (!job) return;
    this.release('routed', job, now, stamp, {
      op: ROUTED_CONNTRACK_OP,
      addresses: job.prefixes,
      flush: () => this.d.system.conntrackReleaseRouted(job.prefixes),
      what: `of routed ${job.prefixes.join(', ')} that their new path cannot carry`,
    });
  }

  private release(kind: 'snat' | 'routed', job: object, now: number, stamp: number, r: ReleaseRun): void {
    if (this.releasing[kind] || isDeepStrictEqual(job, this.released[kind])) return;
    if (!this.d.backoff.allowed(r.op, now, stamp, job)) return;
    const { addresses } = r;
    this.releasing[kind] = r
      .flush()
      .then(
        (res) => {
          this.released[kind] = job;
          this.d.cleared(r.op);
          const message = `released ${res.deleted} flow(s) ${r.what} (of ${res.examined} tracked)`;
          if (res.deleted) this.d.log.info({ addresses, ...res }, `conntrack: ${message}`);
          this.d.bus.publish({
            type: 'conntrack',
            addresses,
            deleted: res.deleted,
            examined: res.examined,
            ok: true,
            message,
          });
        },
        (e: unknown) => {
          const message = `could not release the flows ${r.what}: ${(e as Error).message}; retrying`;
          if (this.d.backoff.failed(r.op, (e as Error).message, now, stamp, job)) {
            this.d.log.warn({ addresses }, `conntrack: ${message}`);
            this.d.bus.publish({ type: 'conntrack', addresses, deleted: 0, examined: 0, ok: false, message });
          }
          this.d.wake();
        },
      )
      .finally(() => {
        this.releasing[kind] = undefined;
        r.after?.();
      });
  }
}

interface ReleaseRun {
  /** The backoff's name for it. */
  op: string;
  addresses: string[];
  flush: () => Promise<CtFlushResult>;
  /** "pinned by SNAT to …": what the released flows were. */
  what: string;
  after?: () => void;
}
