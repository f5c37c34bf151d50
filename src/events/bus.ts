/** Typed daemon events: what `uplink monitor`, logs and (later) hooks and SSE see. */
import type { ChangeDelta } from '../world/delta.js';
import type { Redactor } from '../model/redact.js';

export type DaemonEvent =
  | { type: 'kernel'; time: string; summary: string; delta: ChangeDelta }
  | { type: 'reconcile'; time: string; commands: string[]; deferred: number; error?: string }
  | { type: 'config'; time: string; ok: boolean; message: string }
  | { type: 'daemon'; time: string; message: string }
  | {
      type: 'uplink';
      time: string;
      name: string;
      event: 'state' | 'dial' | 'blocked' | 'admin';
      state: string;
      prev?: string;
      reason: string;
      /** A dial after a connection died or a dial failed: which attempt, what was lost and when. */
      redial?: { attempt: number; lost: string; at: string };
    }
  | { type: 'selection'; time: string; selected?: string; prev?: string; reason: string }
  | {
      /** A routed LAN entry's prefixes moved to another via uplink, onto their fallback, or back. */
      type: 'routed';
      time: string;
      interface: string;
      prefixes: string[];
      carrier?: string;
      prev?: string;
      fallback: 'masquerade' | 'drop';
      message: string;
    }
  | { type: 'firewall'; time: string; generation: number; ok: boolean; message: string }
  | {
      type: 'demand';
      time: string;
      name: string;
      event: 'dial' | 'replay' | 'hangup' | 'mode' | 'proxy';
      message: string;
    }
  | {
      type: 'job';
      time: string;
      name: string;
      event: 'start' | 'exit' | 'stop' | 'restart' | 'failed' | 'adopt';
      message: string;
    }
  | {
      /** One hook run (or refused) for an uplink's event. */
      type: 'hook';
      time: string;
      uplink: string;
      event: string;
      hook: string;
      ok: boolean;
      message: string;
    }
  | {
      /** A confirmed apply: applied (pending, with its deadline), confirmed, or rolled back. */
      type: 'apply';
      time: string;
      action: 'apply' | 'confirm' | 'rollback';
      file: string;
      message: string;
      deadline?: string;
    }
  | {
      /** The schedule fired a cron entry's action, or a window started or stopped holding an uplink. */
      type: 'schedule';
      time: string;
      uplink?: string;
      action: string;
      ok: boolean;
      message: string;
    }
  | {
      /** An announcement of an uplink's address by one updater: sent, failed (retrying or disabled). */
      type: 'announce';
      time: string;
      uplink: string;
      updater: 'dyndns' | 'rfc2136' | 'command';
      address: string;
      ok: boolean;
      /** good, nochg, badauth, NOERROR, NOTAUTH, TIMEOUT, exit 1, ... */
      result: string;
      /** The updater stopped until the config changes (badauth, nohost, a wrong key). */
      disabled?: boolean;
      message: string;
    }
  | {
      /** A notification that could not be delivered (after its retries), or a digest sent. */
      type: 'notify';
      time: string;
      channel: string;
      ok: boolean;
      message: string;
    }
  | {
      type: 'conntrack';
      time: string;
      addresses: string[];
      deleted: number;
      examined: number;
      ok: boolean;
      message: string;
    };

/** The event types, for `uplink events --type` (checked against DaemonEvent below). */
export const EVENT_TYPES = [
  'kernel',
  'reconcile',
  'config',
  'daemon',
  'uplink',
  'selection',
  'routed',
  'firewall',
  'demand',
  'job',
  'hook',
  'conntrack',
  'apply',
  'schedule',
  'announce',
  'notify',
] as const;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _allTypes: Same<(typeof EVENT_TYPES)[number], DaemonEvent['type']> = true;
void _allTypes;

type Without<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
export type EventInput = Without<DaemonEvent, 'time'>;

/**
 * The history is bounded twice: by count, and by the events' size (a kernel delta of a route
 * flood can be large), so it never grows the daemon.
 */
export class EventBus {
  private readonly subs = new Set<(e: DaemonEvent, seq: number) => void>();
  private readonly recent: { e: DaemonEvent; bytes: number; seq: number }[] = [];
  private bytes = 0;
  /** Numbers the events of this daemon run (SSE ids), from 1. */
  private seq = 0;

  constructor(
    private readonly keep = 500,
    private readonly maxBytes = 512 * 1024,
    private readonly redactor?: Redactor,
  ) {}

  publish(input: EventInput): DaemonEvent {
    let e = { ...input, time: new Date().toISOString() } as DaemonEvent;
    // Hooks, the history, the monitor and notifications all read events: none sees a secret.
    if (this.redactor) e = this.redactor.value(e);
    const bytes = JSON.stringify(e).length;
    const seq = ++this.seq;
    this.recent.push({ e, bytes, seq });
    this.bytes += bytes;
    while (this.recent.length > this.keep || (this.bytes > this.maxBytes && this.recent.length > 1))
      this.bytes -= this.recent.shift()!.bytes;
    for (const fn of this.subs) {
      try {
        fn(e, seq);
      } catch {
        // A broken subscriber (a CLI that went away) must not stop the others.
      }
    }
    return e;
  }

  subscribe(fn: (e: DaemonEvent, seq: number) => void): () => void {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }

  history(): DaemonEvent[] {
    return this.recent.map((r) => r.e);
  }

  /** The history after event number `seq`, numbered (an SSE client resuming with Last-Event-ID). */
  after(seq: number): { seq: number; e: DaemonEvent }[] {
    return this.recent.filter((r) => r.seq > seq).map(({ seq: n, e }) => ({ seq: n, e }));
  }
}
